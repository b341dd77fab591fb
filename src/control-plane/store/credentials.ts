/**
 * Orgs, users, API keys (org-level) and application keys (user-scoped, with scopes). Only the
 * SHA-256 of a key is stored: a Redis dump never reveals a usable key.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { KeySpace } from './key-space.js';

export const SCOPES = {
  runnerWrite: 'on_prem_runner_write',
  actionsRun: 'actions_run',
  runnersRead: 'runners_read',
} as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];
export const ADMIN_SCOPES: readonly Scope[] = [SCOPES.runnerWrite, SCOPES.actionsRun, SCOPES.runnersRead];

export interface AppKeyRecord {
  orgId: string;
  userId: string;
  scopes: readonly string[];
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

export async function createUser(redis: Redis, ks: KeySpace, orgId: string, name: string, userId: string = randomUUID(), now = Date.now()): Promise<string> {
  await redis.hset(ks.user(userId), { id: userId, orgId, name, createdAt: now });
  return userId;
}

/** Idempotent: adding the same key again changes nothing but its record. */
export async function addApiKey(redis: Redis, ks: KeySpace, orgId: string, key: string, now = Date.now()): Promise<void> {
  const h = hashKey(key);
  await redis.multi()
    .hsetnx(ks.apiKey(h), 'createdAt', now)
    .hset(ks.apiKey(h), { orgId })
    .sadd(ks.orgApiKeys(orgId), h)
    .exec();
}

/** Idempotent; the scopes given replace the stored ones. */
export async function addAppKey(redis: Redis, ks: KeySpace, record: AppKeyRecord, key: string, now = Date.now()): Promise<void> {
  const h = hashKey(key);
  await redis.multi()
    .hsetnx(ks.appKey(h), 'createdAt', now)
    .hset(ks.appKey(h), { orgId: record.orgId, userId: record.userId, scopes: record.scopes.join(' ') })
    .sadd(ks.userAppKeys(record.userId), h)
    .exec();
}

export async function findApiKey(redis: Redis, ks: KeySpace, key: string): Promise<{ orgId: string } | undefined> {
  const orgId = await redis.hget(ks.apiKey(hashKey(key)), 'orgId');
  return orgId ? { orgId } : undefined;
}

export async function findAppKey(redis: Redis, ks: KeySpace, key: string): Promise<AppKeyRecord | undefined> {
  const [orgId, userId, scopes] = await redis.hmget(ks.appKey(hashKey(key)), 'orgId', 'userId', 'scopes');
  if (!orgId || !userId) return undefined;
  return { orgId, userId, scopes: (scopes ?? '').split(' ').filter((s) => s.length > 0) };
}
