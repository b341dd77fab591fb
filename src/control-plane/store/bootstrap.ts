/**
 * First start: one org and its admin user, with an API key and an application key. Keys given in
 * the config are ensured on every start (idempotent); when the config gives none and none exist,
 * fresh ones are generated and handed back once, for the CLI to print. They cannot be shown
 * again: only their hashes are stored.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../../lib/redis-connection.js';
import type { KeySpace } from './key-space.js';
import { ADMIN_SCOPES, addApiKey, addAppKey, createOrg, createUser, generateApiKey, generateAppKey } from './credentials.js';

export interface BootstrapInput {
  adminApiKey?: string | undefined;
  adminAppKey?: string | undefined;
  now?: number;
}

export interface BootstrapResult {
  orgId: string;
  userId: string;
  /** Present only when keys were generated on this start. */
  generatedKeys?: { apiKey: string; appKey: string };
}

export async function bootstrap(redis: Redis, ks: KeySpace, input: BootstrapInput = {}): Promise<BootstrapResult> {
  const now = input.now ?? Date.now();
  const { orgId, userId } = await ensureOrgAndAdmin(redis, ks, now);

  const [apiKeyCount, appKeyCount] = await Promise.all([redis.scard(ks.orgApiKeys(orgId)), redis.scard(ks.userAppKeys(userId))]);
  const needApiKey = !input.adminApiKey && apiKeyCount === 0;
  const needAppKey = !input.adminAppKey && appKeyCount === 0;
  let apiKey = input.adminApiKey;
  let appKey = input.adminAppKey;
  let generated = false;
  if (needApiKey || needAppKey) {
    // Keys are handed out as a pair; when the other one of the pair exists only as a hash we
    // cannot show it, so a fresh one of that kind is added too (an org may hold several).
    apiKey ??= generateApiKey();
    appKey ??= generateAppKey();
    generated = true;
  }
  if (apiKey) await addApiKey(redis, ks, orgId, apiKey, now);
  if (appKey) await addAppKey(redis, ks, { orgId, userId, scopes: ADMIN_SCOPES }, appKey, now);
  return generated && apiKey && appKey ? { orgId, userId, generatedKeys: { apiKey, appKey } } : { orgId, userId };
}

async function ensureOrgAndAdmin(redis: Redis, ks: KeySpace, now: number): Promise<{ orgId: string; userId: string }> {
  const candidate = { orgId: randomUUID(), userId: randomUUID() };
  // HSETNX decides the ids once, even when two control planes start on one Redis at the same time.
  await redis.hsetnx(ks.bootstrap, 'ids', JSON.stringify(candidate));
  const ids = JSON.parse((await redis.hget(ks.bootstrap, 'ids')) ?? '{}') as { orgId?: unknown; userId?: unknown };
  if (typeof ids.orgId !== 'string' || typeof ids.userId !== 'string') throw new Error(`corrupt bootstrap record at ${ks.bootstrap}`);
  // Rewriting the records is harmless and repairs a half-finished first start.
  if (!(await redis.exists(ks.org(ids.orgId)))) await createOrg(redis, ks, 'default', ids.orgId, now);
  if (!(await redis.exists(ks.user(ids.userId)))) await createUser(redis, ks, ids.orgId, 'admin', ids.userId, now, { roles: ['admin'] });
  // Stores from before org roles: the bootstrap user is the org admin.
  if (!(await redis.hexists(ks.user(ids.userId), 'roles')))
    await createUser(redis, ks, ids.orgId, 'admin', ids.userId, now, { roles: ['admin'] });
  return { orgId: ids.orgId, userId: ids.userId };
}
