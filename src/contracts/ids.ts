/**
 * The shape every id and name the control plane takes from a request must have before it is
 * used in a Redis key: letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most
 * 128 characters. Task, runner, connection, user, team and service-account ids are UUIDs, key
 * ids are hex and runner names already follow this pattern, so nothing real is refused. What it
 * keeps out: `:` (a key separator, so `<id>:events` cannot reach a list key), `..`, `/`, `{}`,
 * `%`, NUL, whitespace and non-ASCII.
 */
import { z } from 'zod';

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isWellFormedId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** An id (or runner name) taken from a request body or query. */
export const idSchema = z.string().regex(ID_PATTERN, 'not a well-formed id (letters, digits, . _ -, at most 128)');
