/**
 * Authenticates runner calls: `Authorization: Bearer <jwt>` signed with the runner's own key.
 * The imported public key is cached per runner id (importing a JWK costs far more than
 * verifying), and `lastSeenAt` is written at most once per TOUCH_EVERY_MS per runner (health
 * checks write it themselves: the poll that follows one does not write it again).
 *
 * Identity rotation (`keyRotatedAt` in the runner hash): each call reads that field with the
 * existence check, so a rotation done through another control-plane process invalidates this
 * cache at once; the previous key is accepted until `previousKeyUntil`,  then refused.
 *
 * A token is verified once (runner-token-cache.ts), then recognised until its `exp` while the
 * key that verified it is still the one cached here. The call that loads a runner (HGETALL) skips
 * the existence check: that lookup answers it.
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
import { RunnerTokenCache } from './runner-token-cache.js';

const TOUCH_EVERY_MS = 5_000;
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
  private readonly verified = new RunnerTokenCache();
  private signatureChecks = 0;

  constructor(
    private readonly redis: Redis,
    private readonly ks: KeySpace,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * `touch: false`: the route writes `lastSeenAt` itself (the health check does, in its own Lua
   * step) and reports it with `seen()`, so no separate write goes out for the call.
   */
  async authenticate(authorization: string | undefined, options: { touch?: boolean } = {}): Promise<AuthenticatedRunner> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'no bearer token');
    const runnerId = peekRunnerId(token);
    if (!runnerId) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'no issuer');
    // The issuer becomes a Redis key: a malformed one (`x:ready`) names no runner.
    if (!isWellFormedId(runnerId)) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'malformed issuer');
    let runner: CachedRunner | undefined;
    const pending = this.cache.get(runnerId);
    if (pending) {
      // The cached key alone would let a deleted runner in on a process that did not delete it:
      // one HMGET per call makes a deletion (or a re-key) count at once everywhere.
      const [cached, [id, rotatedAt]] = await Promise.all([pending, this.redis.hmget(this.ks.runner(runnerId), 'id', 'keyRotatedAt')]);
      if (!cached || id === null) {
        this.forget(runnerId);
        throw new ParError('PAR_ERR_AUTH_RUNNER_UNKNOWN');
      }
      runner = cached;
      if (cached.rotatedAt !== (rotatedAt ?? null)) {
        // Re-keyed (possibly through another process): the cached key is stale.
        this.forget(runnerId);
        runner = await this.load(runnerId);
      }
    } else {
      // Not cached: the HGETALL that loads the runner answers whether it exists.
      runner = await this.load(runnerId);
    }
    if (!runner) throw new ParError('PAR_ERR_AUTH_RUNNER_UNKNOWN');
    const now = this.now();
    const previousValid = runner.previousKey !== undefined && runner.previousKeyUntil !== undefined && now < runner.previousKeyUntil;
    const previousKey = previousValid ? runner.previousKey : undefined;
    let keyUsed = this.verified.get(token, runnerId, now, runner.key, previousKey);
    if (keyUsed === undefined) {
      try {
        this.signatureChecks++;
        await verifyRunnerToken(token, runnerId, runner.key);
        keyUsed = 'current';
        this.verified.put(token, runnerId, runner.key, now);
      } catch (error) {
        if (!previousKey) throw error;
        this.signatureChecks++;
        await verifyRunnerToken(token, runnerId, previousKey);
        keyUsed = 'previous';
        this.verified.put(token, runnerId, previousKey, now);
      }
    }
    if (options.touch !== false) this.touch(runnerId);
    return { runnerId, orgId: runner.orgId, keyUsed };
  }

  /** How many token signatures this process has checked (cache misses), for tests and profiling. */
  get signaturesVerified(): number {
    return this.signatureChecks;
  }

  /** `lastSeenAt` was just written for this runner (by its health check): the next touch can wait. */
  seen(runnerId: string, at: number): void {
    if (this.cache.has(runnerId)) this.touchedAt.set(runnerId, at);
  }

  /** Drops a runner from the cache (when it is deleted or re-keyed). */
  forget(runnerId: string): void {
    this.cache.delete(runnerId);
    this.touchedAt.delete(runnerId);
    // Its verified tokens need no sweep: a token counts only while the key that verified it is the
    // runner's key, and a deleted runner fails its lookup before the token cache is asked.
  }

  private load(runnerId: string): Promise<CachedRunner | undefined> {
    let entry = this.cache.get(runnerId);
    if (!entry) {
      // Cache the promise so concurrent first calls import once; drop misses and failures so an
      // unknown id does not pin memory and a Redis hiccup is retried.
      entry = this.fetch(runnerId);
      this.cache.set(runnerId, entry);
      entry.then(
        (r) => {
          if (!r) this.cache.delete(runnerId);
        },
        () => this.cache.delete(runnerId),
      );
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
    touchRunner(this.redis, this.ks, runnerId, now).catch((error: unknown) =>
      this.logger.warn({ err: error, runnerId }, 'could not update lastSeenAt'),
    );
  }
}
