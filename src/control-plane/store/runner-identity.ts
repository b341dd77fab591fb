/**
 * Runner identity rotation in the store: the runner hash's `publicKey` is replaced by the new key
 * while the old one moves to `previousPublicKey` until `previousKeyUntil` (the overlap), and
 * `keyRotatedAt` changes so every control-plane process drops its cached key. Compare-and-set on
 * the current key, plus a one-time proof id (`jti`), in one Lua step: a replayed or raced request
 * changes nothing.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

export type IdentityRotationOutcome = 'ok' | 'unknown' | 'stale' | 'replayed';

export function rotationProofKey(ks: KeySpace, jti: string): string {
  return `${ks.prefix}:identity-proof:${jti}`;
}

export async function rotateRunnerKey(
  redis: Redis,
  ks: KeySpace,
  r: {
    runnerId: string;
    expectedPublicKeyJson: string;
    newPublicKeyJson: string;
    previousKeyUntil: number;
    rotatedAt: number;
    jti: string;
    jtiTtlMs: number;
  },
): Promise<IdentityRotationOutcome> {
  const outcome = await runLuaScript(
    redis,
    'runner-key-rotate',
    [ks.runner(r.runnerId), rotationProofKey(ks, r.jti)],
    [r.expectedPublicKeyJson, r.newPublicKeyJson, r.previousKeyUntil, r.rotatedAt, r.jtiTtlMs],
  );
  return outcome as IdentityRotationOutcome;
}
