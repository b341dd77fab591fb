/**
 * Request headers a task may not set. Framing headers belong to the HTTP client (a wrong
 * content-length or transfer-encoding desynchronises the connection, the classic request smuggling
 * vector); `host` would let a task reach a virtual host other than the one the URL names (and the
 * allowlist checked); the forwarded family would let a task forge where a request came from to
 * services that trust the runner's network position.
 */
import { ParError } from '../../errors/par-error.js';

const FORBIDDEN: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
  'forwarded',
  'x-real-ip',
  'via',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
]);

export function isForbiddenHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return FORBIDDEN.has(lower) || lower.startsWith('x-forwarded-');
}

/** Throws PAR_ERR_HTTP_FORBIDDEN_HEADER naming the first forbidden header (its name only). */
export function assertAllowedHeaders(pairs: ReadonlyArray<readonly [string, string]>, origin: string): void {
  const bad = pairs.find(([name]) => isForbiddenHeader(name));
  if (bad) throw new ParError('PAR_ERR_HTTP_FORBIDDEN_HEADER', `${origin} "${bad[0].toLowerCase()}"`);
}
