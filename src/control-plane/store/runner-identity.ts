/**
 * Runner identity rotation in the store: the runner hash's `publicKey` is replaced by the new key
 * while the old one moves to `previousPublicKey` until `previousKeyUntil` (the overlap), and
 * `keyRotatedAt` changes so every control-plane process drops its cached key. Compare-and-set on
 * the current key, plus a one-time proof id (`jti`), in one Lua step: a replayed or raced request
 * changes nothing.
 */
import type { Redis } from 'ioredis';
import type { KeySpace } from './key-space.js';
import { LuaScript } from './lua-script.js';

// KEYS: runner hash, jti key. ARGV: expected current publicKey JSON, new publicKey JSON,
// previousKeyUntil, rotatedAt, jti TTL (ms).
const ROTATE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'id') == false then return 'unknown' end
if redis.call('HGET', KEYS[1], 'publicKey') ~= ARGV[1] then return 'stale' end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[5]) then return 'replayed' end
redis.call('HSET', KEYS[1], 'publicKey', ARGV[2], 'previousPublicKey', ARGV[1], 'previousKeyUntil', ARGV[3], 'keyRotatedAt', ARGV[4])
return 'ok'
`);

export type IdentityRotationOutcome = 'ok' | 'unknown' | 'stale' | 'replayed';

export function rotationProofKey(ks: KeySpace, jti: string): string {
  return `${ks.prefix}:identity-proof:${jti}`;
}

export async function rotateRunnerKey(redis: Redis, ks: KeySpace, r: {
  runnerId: string;
  expectedPublicKeyJson: string;
  newPublicKeyJson: string;
  previousKeyUntil: number;
  rotatedAt: number;
  jti: string;
  jtiTtlMs: number;
}): Promise<IdentityRotationOutcome> {
  const outcome = await ROTATE.run(redis, [ks.runner(r.runnerId), rotationProofKey(ks, r.jti)], [
    r.expectedPublicKeyJson, r.newPublicKeyJson, r.previousKeyUntil, r.rotatedAt, r.jtiTtlMs,
  ]);
  return outcome as IdentityRotationOutcome;
}
