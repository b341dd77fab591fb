/**
 * API-key and application-key checks for the user-facing API (headers as the seed's vendor
 * names them). Keys are looked up by hash; neither the key nor its hash is ever logged.
 */
import type { Redis } from '../../lib/redis-connection.js';
import { ParError } from '../../errors/par-error.js';
import { findApiKey, findAppKey, scopeSatisfies, type AppKeyRecord, type Scope } from '../store/credentials.js';
import type { KeySpace } from '../store/key-space.js';

export const API_KEY_HEADER = 'dd-api-key';
export const APP_KEY_HEADER = 'dd-application-key';

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first && first.length > 0 ? first : undefined;
}

export async function requireApiKey(redis: Redis, ks: KeySpace, headers: Headers): Promise<{ orgId: string }> {
  const key = header(headers, API_KEY_HEADER);
  const found = key ? await findApiKey(redis, ks, key) : undefined;
  if (!found) throw new ParError('PAR_ERR_AUTH_API_KEY_INVALID');
  return found;
}

/** The application key's record; it must carry `scope` (or one of them), and belong to `orgId` when given. */
export async function requireAppKey(
  redis: Redis,
  ks: KeySpace,
  headers: Headers,
  scope: Scope | readonly Scope[],
  orgId?: string,
): Promise<AppKeyRecord> {
  const key = appKeyHeader(headers);
  return checkAppKey(key, key ? await findAppKey(redis, ks, key) : undefined, scope, orgId);
}

export function appKeyHeader(headers: Headers): string | undefined {
  return header(headers, APP_KEY_HEADER);
}

/** The checks of `requireAppKey` on a record already looked up (auth/caller-cache.ts). */
export function checkAppKey(
  key: string | undefined,
  found: AppKeyRecord | undefined,
  scope: Scope | readonly Scope[],
  orgId?: string,
): AppKeyRecord {
  if (!found) throw new ParError('PAR_ERR_AUTH_APP_KEY_INVALID', key ? undefined : `no ${APP_KEY_HEADER} header`);
  // Checked on every call on a record no older than the auth epoch, so a revocation takes effect at once on every process.
  if (found.revokedAt !== undefined) throw new ParError('PAR_ERR_AUTH_APP_KEY_REVOKED');
  if (orgId !== undefined && found.orgId !== orgId)
    throw new ParError('PAR_ERR_AUTH_APP_KEY_INVALID', 'the application key belongs to another org than the API key');
  const scopes: readonly Scope[] = typeof scope === 'string' ? [scope] : scope;
  // An empty list: any valid key of the org will do (e.g. GET /me).
  if (scopes.length > 0 && !scopes.some((s) => scopeSatisfies(found.scopes, s)))
    throw new ParError('PAR_ERR_AUTH_SCOPE_MISSING', scopes.join(' or '));
  return found;
}
