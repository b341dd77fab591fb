/**
 * API-key and application-key checks for the user-facing API (headers as the seed's vendor
 * names them). Keys are looked up by hash; neither the key nor its hash is ever logged.
 */
import type { Redis } from 'ioredis';
import { ParError } from '../../errors/par-error.js';
import { findApiKey, findAppKey, type AppKeyRecord, type Scope } from '../store/credentials.js';
import type { KeySpace } from '../store/key-space.js';

export const API_KEY_HEADER = 'dd-api-key';
export const APP_KEY_HEADER = 'dd-application-key';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

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

/** The application key's record; it must carry `scope`, and belong to `orgId` when given. */
export async function requireAppKey(redis: Redis, ks: KeySpace, headers: Headers, scope: Scope, orgId?: string): Promise<AppKeyRecord> {
  const key = header(headers, APP_KEY_HEADER);
  const found = key ? await findAppKey(redis, ks, key) : undefined;
  if (!found) throw new ParError('PAR_ERR_AUTH_APP_KEY_INVALID');
  if (orgId !== undefined && found.orgId !== orgId) throw new ParError('PAR_ERR_AUTH_APP_KEY_INVALID', 'the application key belongs to another org than the API key');
  if (!found.scopes.includes(scope)) throw new ParError('PAR_ERR_AUTH_SCOPE_MISSING', scope);
  return found;
}
