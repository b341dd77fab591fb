/**
 * Named API keys and app keys: create (the key is returned once), list, revoke. Revocation keeps
 * the record (for the listing) with `revokedAt`; lookups refuse it on the next call.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { ApiKeyView, AppKeyView } from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import { accessKeySpace } from './access-key-space.js';
import { addApiKey, addAppKey, appKeyFromHash, generateApiKey, generateAppKey, type AppKeyRecord, type KeyOwner } from './credentials.js';
import type { KeySpace } from './key-space.js';
import { bumpAuthEpoch } from './auth-epoch.js';

export async function createApiKey(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  name: string,
  now: number,
): Promise<{ id: string; key: string }> {
  const key = generateApiKey();
  return { id: await addApiKey(redis, ks, orgId, key, now, name), key };
}

export async function listApiKeys(redis: Redis, ks: KeySpace, orgId: string): Promise<ApiKeyView[]> {
  const index = await redis.hgetall(accessKeySpace(ks).orgApiKeyIds(orgId));
  const views: ApiKeyView[] = [];
  for (const [id, hash] of Object.entries(index)) {
    const h = await redis.hgetall(ks.apiKey(hash));
    if (h['orgId'] !== orgId) continue;
    views.push({
      id,
      name: h['name'] ?? 'default',
      createdAt: Number(h['createdAt'] ?? 0),
      ...(h['revokedAt'] ? { revokedAt: Number(h['revokedAt']) } : {}),
    });
  }
  return views.sort((a, b) => a.createdAt - b.createdAt);
}

export async function revokeApiKey(redis: Redis, ks: KeySpace, orgId: string, id: string, now: number): Promise<void> {
  const hash = await redis.hget(accessKeySpace(ks).orgApiKeyIds(orgId), id);
  if (!hash) throw new ParError('PAR_ERR_NOT_FOUND', `API key ${id}`);
  await redis.hsetnx(ks.apiKey(hash), 'revokedAt', now);
}

export async function createAppKey(
  redis: Redis,
  ks: KeySpace,
  k: { orgId: string; owner: KeyOwner; name: string; scopes: readonly string[] },
  now: number,
): Promise<{ id: string; key: string }> {
  const key = generateAppKey();
  return { id: await addAppKey(redis, ks, k, key, now), key };
}

export function toAppKeyView(r: AppKeyRecord): AppKeyView {
  return {
    id: r.id,
    name: r.name,
    scopes: [...r.scopes],
    owner: r.owner,
    createdAt: r.createdAt,
    ...(r.revokedAt !== undefined ? { revokedAt: r.revokedAt } : {}),
  };
}

export async function listAppKeys(redis: Redis, ks: KeySpace, orgId: string): Promise<AppKeyRecord[]> {
  const index = await redis.hgetall(accessKeySpace(ks).orgAppKeyIds(orgId));
  const out: AppKeyRecord[] = [];
  for (const hash of Object.values(index)) {
    const record = appKeyFromHash(hash, await redis.hgetall(ks.appKey(hash)));
    if (record && record.orgId === orgId) out.push(record);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt);
}

export async function getAppKeyById(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  id: string,
): Promise<{ record: AppKeyRecord; hash: string } | undefined> {
  const hash = await redis.hget(accessKeySpace(ks).orgAppKeyIds(orgId), id);
  if (!hash) return undefined;
  const record = appKeyFromHash(hash, await redis.hgetall(ks.appKey(hash)));
  return record && record.orgId === orgId ? { record, hash } : undefined;
}

/** Takes effect on the next call on every process: the auth epoch moves with it (auth-epoch.ts). */
export async function revokeAppKey(redis: Redis, ks: KeySpace, hash: string, now: number): Promise<void> {
  await bumpAuthEpoch(redis.multi().hsetnx(ks.appKey(hash), 'revokedAt', now), ks).exec();
}
