/**
 * The auth epoch: one counter every write that can change what an app key resolves to (the key
 * itself: add, revoke; its owner: roles, teams) increments, in the same MULTI as the write. The
 * control plane's caller cache (auth/caller-cache.ts) reads it on every call and drops what it
 * loaded under another epoch, so a revocation counts at once on every process.
 */
import type { ChainableCommander } from 'ioredis';
import type { Redis } from '../../lib/redis-connection.js';
import type { KeySpace } from './key-space.js';

export function authEpochKey(ks: KeySpace): string {
  return `${ks.prefix}:auth:epoch`;
}

/** Adds the increment to a MULTI (the write and the bump commit together). */
export function bumpAuthEpoch(tx: ChainableCommander, ks: KeySpace): ChainableCommander {
  return tx.incr(authEpochKey(ks));
}

export async function readAuthEpoch(redis: Redis, ks: KeySpace): Promise<string> {
  return (await redis.get(authEpochKey(ks))) ?? '0';
}
