/**
 * Runner request JWTs already verified, keyed by the token string: a runner reuses one token for
 * about a minute (RunnerTokenMinter), so its polls and health checks are verified once, not on
 * every call. An entry is good until the token's `exp` and only while the key that verified it is
 * still the runner's key (RunnerAuthenticator passes the key it holds now: a re-key or deletion
 * drops the cached key, so a token verified with the old one is verified again, or refused).
 * Bounded: the oldest entries go first when full, and expired ones are dropped as new ones come.
 */
import { decodeJwt } from 'jose';
import type { SigningKey } from '../../crypto/keys.js';

interface Entry {
  runnerId: string;
  key: SigningKey;
  /** ms since the epoch */
  expiresAt: number;
}

export class RunnerTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 100_000) {}

  /** The key that verified `token` for `runnerId` if it is still `key` (or `previousKey`) and the token has not expired. */
  get(token: string, runnerId: string, now: number, key: SigningKey, previousKey?: SigningKey): 'current' | 'previous' | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    if (e.runnerId !== runnerId || now >= e.expiresAt || (e.key !== key && e.key !== previousKey)) {
      this.entries.delete(token);
      return undefined;
    }
    return e.key === key ? 'current' : 'previous';
  }

  /** Remembers a token that just passed verification with `key`. */
  put(token: string, runnerId: string, key: SigningKey, now: number): void {
    let exp: unknown;
    try {
      exp = decodeJwt(token).exp;
    } catch {
      return;
    }
    if (typeof exp !== 'number' || exp * 1000 <= now) return;
    this.prune(now);
    this.entries.set(token, { runnerId, key, expiresAt: exp * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops expired entries from the front (tokens live about as long as each other) and the oldest when full. */
  private prune(now: number): void {
    for (const [token, e] of this.entries) {
      if (this.entries.size < this.maxEntries && e.expiresAt > now) break;
      this.entries.delete(token);
    }
  }
}
