/**
 * The control plane's task-signing key pair: generated once and kept in its Redis, so every
 * control-plane process on that Redis signs with the same key and runners keep trusting it
 * across restarts. Only the public half ever leaves (as a JWKS).
 */
import type { Redis } from 'ioredis';
import type { JWK } from 'jose';
import type { Jwks } from '../../contracts/runner-api.js';
import { generateSigningKeyPair, publicPart, type KeyPairJwk } from '../../crypto/keys.js';
import type { KeySpace } from './key-space.js';

export async function loadOrCreateSigningKey(redis: Redis, ks: KeySpace): Promise<KeyPairJwk> {
  const existing = await redis.get(ks.signingKey);
  if (existing) return parseKeyPair(existing, ks.signingKey);
  const fresh = await generateSigningKeyPair();
  // SET NX: when two processes race, both end up with the winner's key.
  await redis.set(ks.signingKey, JSON.stringify(fresh), 'NX');
  const stored = await redis.get(ks.signingKey);
  if (!stored) throw new Error(`signing key vanished at ${ks.signingKey}`);
  return parseKeyPair(stored, ks.signingKey);
}

export function publicJwks(pair: KeyPairJwk): Jwks {
  const { kty, ...rest } = publicPart(pair.publicJwk);
  if (typeof kty !== 'string') throw new Error('signing key has no kty');
  return { keys: [{ ...rest, kty }] };
}

function parseKeyPair(text: string, where: string): KeyPairJwk {
  const value = JSON.parse(text) as { privateJwk?: JWK; publicJwk?: JWK; kid?: unknown };
  if (!value.privateJwk || !value.publicJwk || typeof value.kid !== 'string') throw new Error(`corrupt signing key at ${where}`);
  return { privateJwk: value.privateJwk, publicJwk: value.publicJwk, kid: value.kid };
}
