/**
 * Authenticates runner calls: `Authorization: Bearer <jwt>` signed with the runner's own key.
 * The imported public key is cached per runner id (importing a JWK costs far more than
 * verifying), and `lastSeenAt` is written at most once per TOUCH_EVERY_MS per runner.
 *
 * Identity rotation (`keyRotatedAt` in the runner hash): each call reads that field with the
 * existence check, so a rotation done through another control-plane process invalidates this
 * cache at once; the previous key is accepted until `previousKeyUntil`, then refused.
 *
 * Verified tokens: a runner reuses its token for a minute, so each token is verified (EdDSA)
 * once: an LRU of MAX_VERIFIED_TOKENS entries keyed by the token string remembers it until its
 * `exp` (or max age, or the end of the previous key's overlap when that key signed it). A hit
 * still needs the per-call HMGET to find the runner and the same `keyRotatedAt` as when the token
 * was verified, so deleting or re-keying the runner (through any process) ends it at once;
 * `forget` (delete, re-key here) drops the runner's entries too. Failures are never cached.
 */
import type { Redis } from '../../lib/redis-connection.js';
import { isWellFormedId } from '../../contracts/ids.js';
import type { JWK } from 'jose';
import { importSigningKey, type SigningKey } from '../../crypto/keys.js';
import { peekRunnerId, verifyRunnerToken } from '../../crypto/runner-token.js';
import { ParError } from '../../errors/par-error.js';
import type { Logger } from '../../logging/logger.js';
import type { KeySpace } from '../store/key-space.js';
import { touchRunner } from '../store/runners.js';

const TOUCH_EVERY_MS = 5_000;
const MAX_VERIFIED_TOKENS = 1024;

interface VerifiedToken {
  runnerId: string;
  /** The runner's `keyRotatedAt` when the token was verified: any other value is a miss. */
  rotatedAt: string | null;
  keyUsed: 'current' | 'previous';
  validUntil: number;
}

export interface AuthenticatedRunner {
  runnerId: string;
  orgId: string;
  /** Which of the runner's keys signed the token: `previous` only during an identity-rotation overlap. */
  keyUsed?: 'current' | 'previous';
}

interface CachedRunner extends AuthenticatedRunner {
  key: SigningKey;
  previousKey?: SigningKey;
  previousKeyUntil?: number;
  rotatedAt: string | null;
}

export class RunnerAuthenticator {
  private readonly cache = new Map<string, Promise<CachedRunner | undefined>>();
  private readonly touchedAt = new Map<string, number>();
  /** Token string -> what verifying it established; Map order is the LRU order (oldest first). */
  private readonly verified = new Map<string, VerifiedToken>();
  private signatureChecks = 0;

  constructor(private readonly redis: Redis, private readonly ks: KeySpace, private readonly logger: Logger, private readonly now: () => number = Date.now) {}

  async authenticate(authorization: string | undefined): Promise<AuthenticatedRunner> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'no bearer token');
    const runnerId = peekRunnerId(token);
    if (!runnerId) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'no issuer');
    // The issuer becomes a Redis key: a malformed one (`x:ready`) names no runner.
    if (!isWellFormedId(runnerId)) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'malformed issuer');
    // The cached key alone would let a deleted runner in on a process that did not delete it:
    // one EXISTS per call makes a deletion count at once everywhere.
    const [cached, [id, rotatedAt]] = await Promise.all([this.load(runnerId), this.redis.hmget(this.ks.runner(runnerId), 'id', 'keyRotatedAt')]);
    if (!cached || id === null) {
      this.forget(runnerId);
      throw new ParError('PAR_ERR_AUTH_RUNNER_UNKNOWN');
    }
    const currentRotation = rotatedAt ?? null;
    const hit = this.verified.get(token);
    if (hit) {
      this.verified.delete(token);
      if (hit.runnerId === runnerId && hit.rotatedAt === currentRotation && this.now() < hit.validUntil) {
        this.verified.set(token, hit);
        this.touch(runnerId);
        return { runnerId, orgId: cached.orgId, keyUsed: hit.keyUsed };
      }
    }
    let runner = cached;
    if (cached.rotatedAt !== currentRotation) {
      // Re-keyed (possibly through another process): the cached key is stale.
      this.forget(runnerId);
      const fresh = await this.load(runnerId);
      if (!fresh) throw new ParError('PAR_ERR_AUTH_RUNNER_UNKNOWN');
      runner = fresh;
    }
    let keyUsed: 'current' | 'previous' = 'current';
    let validUntil: number;
    this.signatureChecks++;
    try {
      validUntil = await verifyRunnerToken(token, runnerId, runner.key);
    } catch (error) {
      if (!runner.previousKey || runner.previousKeyUntil === undefined || this.now() >= runner.previousKeyUntil) throw error;
      this.signatureChecks++;
      validUntil = Math.min(await verifyRunnerToken(token, runnerId, runner.previousKey), runner.previousKeyUntil);
      keyUsed = 'previous';
    }
    this.remember(token, { runnerId, rotatedAt: runner.rotatedAt, keyUsed, validUntil });
    this.touch(runnerId);
    return { runnerId, orgId: runner.orgId, keyUsed };
  }

  /** How many token signatures this process has checked (cache misses), for tests and profiling. */
  get signaturesVerified(): number {
    return this.signatureChecks;
  }

  /** Drops a runner from the caches, its verified tokens included (when it is deleted or re-keyed). */
  forget(runnerId: string): void {
    this.cache.delete(runnerId);
    this.touchedAt.delete(runnerId);
    for (const [token, entry] of this.verified) if (entry.runnerId === runnerId) this.verified.delete(token);
  }

  private remember(token: string, entry: VerifiedToken): void {
    this.verified.delete(token);
    this.verified.set(token, entry);
    if (this.verified.size > MAX_VERIFIED_TOKENS) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
  }

  private load(runnerId: string): Promise<CachedRunner | undefined> {
    let entry = this.cache.get(runnerId);
    if (!entry) {
      // Cache the promise so concurrent first calls import once; drop misses and failures so an
      // unknown id does not pin memory and a Redis hiccup is retried.
      entry = this.fetch(runnerId);
      this.cache.set(runnerId, entry);
      entry.then((r) => { if (!r) this.cache.delete(runnerId); }, () => this.cache.delete(runnerId));
    }
    return entry;
  }

  private async fetch(runnerId: string): Promise<CachedRunner | undefined> {
    // One HGETALL: the key, the previous key and keyRotatedAt come from the same version of the runner.
    const h = await this.redis.hgetall(this.ks.runner(runnerId));
    // A runner created with an enrollment token has no key until it enrolls.
    if (!h['id'] || !h['orgId'] || !h['publicKey']) return undefined;
    const previous = h['previousPublicKey'];
    const until = h['previousKeyUntil'];
    return {
      runnerId,
      orgId: h['orgId'],
      key: await importSigningKey(JSON.parse(h['publicKey']) as JWK),
      rotatedAt: h['keyRotatedAt'] ?? null,
      ...(previous && until ? { previousKey: await importSigningKey(JSON.parse(previous) as JWK), previousKeyUntil: Number(until) } : {}),
    };
  }

  private touch(runnerId: string): void {
    const now = this.now();
    const last = this.touchedAt.get(runnerId);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    this.touchedAt.set(runnerId, now);
    // Fire and forget: a missed lastSeenAt update must not fail the runner's call.
    touchRunner(this.redis, this.ks, runnerId, now).catch((error: unknown) => this.logger.warn({ err: error, runnerId }, 'could not update lastSeenAt'));
  }
}
