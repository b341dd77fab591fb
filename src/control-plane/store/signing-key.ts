/**
 * The control plane's task-signing keys in its Redis, so every control-plane process on that Redis
 * signs with the same key and runners keep trusting it across restarts.
 *
 * `signingKey` holds the ACTIVE key pair (the only private key ever stored). `signingKeyRing` holds
 * the public part of every key, active or not: its creation time, its retirement time (`notAfter`,
 * once replaced) and the endorsement its predecessor signed for it. Rotation replaces the active
 * pair and records both entries in one Lua step (compare-and-set on the active kid, so two
 * concurrent rotations cannot both win), then publishes on `keysChannel`. The outgoing private key
 * is gone from Redis from that moment: it signed its successor's endorsement and nothing else.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { JWK } from 'jose';
import type { KeyAnswer, KeyAnswerEntry, SigningKeyStatus } from '../../contracts/control-plane-keys.js';
import type { Jwks } from '../../contracts/runner-api.js';
import { signEndorsement } from '../../crypto/key-endorsement.js';
import { generateSigningKeyPair, importSigningKey, publicPart, type KeyPairJwk } from '../../crypto/keys.js';
import { ParError } from '../../errors/par-error.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

/** Public entries kept in the ring (the chain a long-offline runner walks); the oldest retired go first. */
export const MAX_RING_ENTRIES = 50;

export interface PublicKeyEntry {
  kid: string;
  jwk: JWK;
  createdAt: number;
  retiredAt?: number;
  notAfter?: number;
  endorsement?: string;
}

export interface KeyRing {
  active: KeyPairJwk;
  activeCreatedAt: number;
  entries: PublicKeyEntry[];
}

export async function loadOrCreateSigningKey(redis: Redis, ks: KeySpace, now: number = Date.now()): Promise<KeyPairJwk> {
  const existing = await redis.get(ks.signingKey);
  let pair: KeyPairJwk;
  if (existing) {
    pair = parseKeyPair(existing, ks.signingKey);
  } else {
    const fresh = await generateSigningKeyPair();
    // SET NX: when two processes race, both end up with the winner's key.
    await redis.set(ks.signingKey, JSON.stringify(fresh), 'NX');
    const stored = await redis.get(ks.signingKey);
    if (!stored) throw new Error(`signing key vanished at ${ks.signingKey}`);
    pair = parseKeyPair(stored, ks.signingKey);
  }
  // A store from before rotation existed has no ring yet: the active key becomes its first entry.
  const entry: PublicKeyEntry = { kid: pair.kid, jwk: publicPart(pair.publicJwk), createdAt: now };
  await redis.hsetnx(ks.signingKeyRing, pair.kid, JSON.stringify(entry));
  return pair;
}

export async function readKeyRing(redis: Redis, ks: KeySpace, now: number = Date.now()): Promise<KeyRing> {
  const active = await loadOrCreateSigningKey(redis, ks, now);
  const raw = await redis.hgetall(ks.signingKeyRing);
  const entries = Object.values(raw)
    .map((text) => JSON.parse(text) as PublicKeyEntry)
    .sort((a, b) => a.createdAt - b.createdAt);
  const activeEntry = entries.find((e) => e.kid === active.kid);
  return { active, activeCreatedAt: activeEntry?.createdAt ?? now, entries };
}

export function keyStatus(entry: PublicKeyEntry, activeKid: string, now: number): SigningKeyStatus {
  if (entry.kid === activeKid) return 'active';
  return entry.notAfter !== undefined && entry.notAfter > now ? 'retiring' : 'retired';
}

/** The JWKS runners pin at enrollment: the active key and the retiring ones (their tasks may still arrive). */
export function trustedJwks(ring: KeyRing, now: number): Jwks {
  const keys = ring.entries
    .filter((e) => keyStatus(e, ring.active.kid, now) !== 'retired')
    .map((e) => ({ ...publicPart(e.jwk), kid: e.kid, alg: 'EdDSA', use: 'sig', kty: String(e.jwk.kty) }));
  return { keys };
}

/** The answer of `GET /api/v1/runner/keys`: every key of the ring, with its status and endorsement. */
export function keyAnswer(ring: KeyRing, now: number): KeyAnswer {
  return {
    active: ring.active.kid,
    keys: ring.entries.map((e): KeyAnswerEntry => ({
      kid: e.kid,
      jwk: { ...publicPart(e.jwk), kid: e.kid, kty: String(e.jwk.kty) },
      status: keyStatus(e, ring.active.kid, now),
      createdAt: e.createdAt,
      ...(e.notAfter !== undefined ? { notAfter: e.notAfter } : {}),
      ...(e.endorsement !== undefined ? { endorsement: e.endorsement } : {}),
    })),
  };
}

export interface RotationResult {
  previousKid: string;
  kid: string;
  /** When tasks signed with the previous key stop being accepted. */
  previousNotAfter: number;
}

export interface RotateOptions {
  /** How long tasks signed with the outgoing key stay valid (task TTL + lease re-sign window + propagation). */
  retireAfterMs: number;
  now?: number;
  /** Rotate only if this is still the active kid (a scheduled rotation: whoever comes first wins). */
  expectedKid?: string;
}

export async function rotateSigningKey(redis: Redis, ks: KeySpace, options: RotateOptions): Promise<RotationResult> {
  const now = options.now ?? Date.now();
  const ring = await readKeyRing(redis, ks, now);
  const old = ring.active;
  if (options.expectedKid !== undefined && options.expectedKid !== old.kid) {
    throw new ParError('PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT', 'the key was rotated meanwhile');
  }
  const fresh = await generateSigningKeyPair();
  const notAfter = now + options.retireAfterMs;
  const endorsement = await signEndorsement(await importSigningKey(old.privateJwk), old.kid, fresh, notAfter, now);
  const oldEntry: PublicKeyEntry = {
    ...(ring.entries.find((e) => e.kid === old.kid) ?? { kid: old.kid, jwk: publicPart(old.publicJwk), createdAt: ring.activeCreatedAt }),
    retiredAt: now,
    notAfter,
  };
  const newEntry: PublicKeyEntry = { kid: fresh.kid, jwk: publicPart(fresh.publicJwk), createdAt: now, endorsement };
  const outcome = await runLuaScript(
    redis,
    'signing-key-rotate',
    [ks.signingKey, ks.signingKeyRing],
    [old.kid, JSON.stringify(fresh), fresh.kid, JSON.stringify(newEntry), old.kid, JSON.stringify(oldEntry), ks.keysChannel],
  );
  if (outcome === 'conflict' || outcome === 'missing')
    throw new ParError('PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT', 'the key was rotated meanwhile');
  if (outcome === 'collision') throw new ParError('PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT', 'the new key id is already in the ring');
  await pruneRing(redis, ks, fresh.kid);
  return { previousKid: old.kid, kid: fresh.kid, previousNotAfter: notAfter };
}

async function pruneRing(redis: Redis, ks: KeySpace, activeKid: string): Promise<void> {
  const raw = await redis.hgetall(ks.signingKeyRing);
  const entries = Object.values(raw).map((text) => JSON.parse(text) as PublicKeyEntry);
  if (entries.length <= MAX_RING_ENTRIES) return;
  const drop = entries
    .filter((e) => e.kid !== activeKid)
    .sort((a, b) => a.createdAt - b.createdAt)
    .slice(0, entries.length - MAX_RING_ENTRIES);
  if (drop.length > 0) await redis.hdel(ks.signingKeyRing, ...drop.map((e) => e.kid));
}

function parseKeyPair(text: string, where: string): KeyPairJwk {
  const value = JSON.parse(text) as { privateJwk?: JWK; publicJwk?: JWK; kid?: unknown };
  if (!value.privateJwk || !value.publicJwk || typeof value.kid !== 'string') throw new Error(`corrupt signing key at ${where}`);
  return { privateJwk: value.privateJwk, publicJwk: value.publicJwk, kid: value.kid };
}
