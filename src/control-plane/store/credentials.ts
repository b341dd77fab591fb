/**
 * Orgs, users, API keys (org-level) and application keys (user-scoped, with scopes). Only the
 * SHA-256 of a key is stored: a Redis dump never reveals a usable key.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from '../../lib/redis-connection.js';
import { accessKeySpace } from './access-key-space.js';
import type { KeySpace } from './key-space.js';
import { bumpAuthEpoch } from './auth-epoch.js';

export const SCOPES = {
  runnerWrite: 'on_prem_runner_write',
  actionsRun: 'actions_run',
  /** Historical name of `on_prem_runner_read`; either one grants the other (see scopeSatisfies). */
  runnersRead: 'runners_read',
  runnerRead: 'on_prem_runner_read',
  connectionsRead: 'connections_read',
  connectionsWrite: 'connections_write',
  userAccessManage: 'user_access_manage',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];
export const ADMIN_SCOPES: readonly Scope[] = Object.values(SCOPES);

const READ_ALIASES: readonly string[] = [SCOPES.runnersRead, SCOPES.runnerRead];

/** Whether a key's scopes include `scope` (the two runner-read names are one scope). */
export function scopeSatisfies(held: readonly string[], scope: Scope): boolean {
  if (READ_ALIASES.includes(scope)) return held.some((s) => READ_ALIASES.includes(s));
  return held.includes(scope);
}

/** Who owns an app key and so acts through it. */
export interface KeyOwner {
  type: 'user' | 'service_account';
  id: string;
}

export interface AppKeyRecord {
  /** Stable public id (derived one-way from the hash; used to list and revoke). */
  id: string;
  orgId: string;
  owner: KeyOwner;
  /** The owner's id when the owner is a user (kept for older callers). */
  userId: string;
  scopes: readonly string[];
  name: string;
  createdAt: number;
  revokedAt?: number;
}

export interface NewAppKey {
  orgId: string;
  /** Shorthand for a user-owned key. */
  userId?: string;
  owner?: KeyOwner;
  scopes: readonly string[];
  name?: string;
}

/** Public id of a key: one-way from its hash, so neither the key nor its hash is ever shown. */
export function keyId(keyHash: string): string {
  return createHash('sha256').update(`id:${keyHash}`, 'utf8').digest('hex').slice(0, 20);
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** 32 hex characters, like the seed vendor's API keys. */
export function generateApiKey(): string {
  return randomBytes(16).toString('hex');
}

/** 40 hex characters, like the seed vendor's application keys. */
export function generateAppKey(): string {
  return randomBytes(20).toString('hex');
}

export async function createOrg(redis: Redis, ks: KeySpace, name: string, orgId: string = randomUUID(), now = Date.now()): Promise<string> {
  await redis.hset(ks.org(orgId), { id: orgId, name, createdAt: now });
  return orgId;
}

/** `roles` are org roles (admin, standard, read_only); users made without any are `standard`. */
export async function createUser(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  name: string,
  userId: string = randomUUID(),
  now = Date.now(),
  extra: { email?: string; roles?: readonly string[] } = {},
): Promise<string> {
  // May overwrite an existing user's roles (bootstrap): the auth epoch moves with it.
  await bumpAuthEpoch(
    redis
      .multi()
      .hset(ks.user(userId), {
        id: userId,
        orgId,
        name,
        email: extra.email ?? '',
        roles: (extra.roles ?? ['standard']).join(' '),
        createdAt: now,
      })
      .sadd(accessKeySpace(ks).orgUsers(orgId), userId),
    ks,
  ).exec();
  return userId;
}

/** Idempotent: adding the same key again changes nothing but its record. */
export async function addApiKey(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  key: string,
  now = Date.now(),
  name = 'default',
): Promise<string> {
  const h = hashKey(key);
  const id = keyId(h);
  await redis
    .multi()
    .hsetnx(ks.apiKey(h), 'createdAt', now)
    .hsetnx(ks.apiKey(h), 'name', name)
    .hset(ks.apiKey(h), { orgId, id })
    .sadd(ks.orgApiKeys(orgId), h)
    .hset(accessKeySpace(ks).orgApiKeyIds(orgId), id, h)
    .exec();
  return id;
}

/** Idempotent; the scopes given replace the stored ones. Returns the key's id. */
export async function addAppKey(redis: Redis, ks: KeySpace, record: NewAppKey, key: string, now = Date.now()): Promise<string> {
  const owner: KeyOwner = record.owner ?? { type: 'user', id: record.userId ?? '' };
  if (!owner.id) throw new Error('addAppKey: an owner is required');
  const h = hashKey(key);
  const id = keyId(h);
  const tx = redis
    .multi()
    .hsetnx(ks.appKey(h), 'createdAt', now)
    .hsetnx(ks.appKey(h), 'name', record.name ?? 'default')
    .hset(ks.appKey(h), { id, orgId: record.orgId, ownerType: owner.type, ownerId: owner.id, scopes: record.scopes.join(' ') })
    .hset(accessKeySpace(ks).orgAppKeyIds(record.orgId), id, h);
  // `userId` and the per-user set are what bootstrap and older records use.
  if (owner.type === 'user') tx.hset(ks.appKey(h), 'userId', owner.id).sadd(ks.userAppKeys(owner.id), h);
  // Re-adding a key replaces its scopes: the auth epoch moves with it.
  await bumpAuthEpoch(tx, ks).exec();
  return id;
}

/** The org of a valid API key; a revoked key is not found. */
export async function findApiKey(redis: Redis, ks: KeySpace, key: string): Promise<{ orgId: string } | undefined> {
  const [orgId, revokedAt] = await redis.hmget(ks.apiKey(hashKey(key)), 'orgId', 'revokedAt');
  return orgId && !revokedAt ? { orgId } : undefined;
}

/** The app key's record, revoked ones included (the caller decides how to refuse them). */
export async function findAppKey(redis: Redis, ks: KeySpace, key: string): Promise<AppKeyRecord | undefined> {
  const h = hashKey(key);
  return appKeyFromHash(h, await redis.hgetall(ks.appKey(h)));
}

export function appKeyFromHash(keyHash: string, h: Record<string, string>): AppKeyRecord | undefined {
  const orgId = h['orgId'];
  const ownerType = h['ownerType'] === 'service_account' ? 'service_account' : 'user';
  const ownerId = h['ownerId'] ?? h['userId'];
  if (!orgId || !ownerId) return undefined;
  return {
    id: h['id'] ?? keyId(keyHash),
    orgId,
    owner: { type: ownerType, id: ownerId },
    userId: ownerType === 'user' ? ownerId : '',
    scopes: (h['scopes'] ?? '').split(' ').filter((s) => s.length > 0),
    name: h['name'] ?? 'default',
    createdAt: Number(h['createdAt'] ?? 0),
    ...(h['revokedAt'] ? { revokedAt: Number(h['revokedAt']) } : {}),
  };
}
