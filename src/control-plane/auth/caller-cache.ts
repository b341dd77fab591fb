/**
 * App-key callers resolved once per key: the key's record and its owner (user roles + teams, or
 * service account) are loaded on a miss (HGETALL key, HGETALL owner, SMEMBERS teams) and kept,
 * per key hash, while the auth epoch (store/auth-epoch.ts) is the one read before loading them
 * and for at most TTL_MS (a backstop for writes made outside our store functions). Every call
 * still reads the epoch (one GET instead of three reads), so a revocation, a re-scoped key or
 * a team change made through any control-plane process counts on the very next call.
 * Only complete answers are kept: an unknown key or a missing owner is looked up every time.
 * The scope, revocation and org checks run on every call (auth/keys.ts, auth/access.ts).
 */
import type { Redis } from '../../lib/redis-connection.js';
import { readAuthEpoch } from '../store/auth-epoch.js';
import { appKeyFromHash, hashKey, type AppKeyRecord } from '../store/credentials.js';
import type { KeySpace } from '../store/key-space.js';
import { loadPrincipal, type Principal } from '../store/principals.js';

export const CALLER_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 1024;

export interface ResolvedKey {
  record: AppKeyRecord | undefined;
  /** Undefined when the key is unknown or its owner no longer exists. */
  principal: Principal | undefined;
}

interface Entry {
  epoch: string;
  loadedAt: number;
  record: AppKeyRecord;
  principal: Principal;
}

export class CallerCache {
  /** Key hash -> entry; Map order is the LRU order (oldest first). */
  private readonly entries = new Map<string, Entry>();
  private loads = 0;

  constructor(
    private readonly redis: Redis,
    private readonly ks: KeySpace,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many times a key was loaded from Redis (misses), for tests and profiling. */
  get misses(): number {
    return this.loads;
  }

  async resolve(key: string): Promise<ResolvedKey> {
    const hash = hashKey(key);
    // Read first: what is loaded after this read is at least as new as this epoch.
    const epoch = await readAuthEpoch(this.redis, this.ks);
    const hit = this.entries.get(hash);
    if (hit) {
      this.entries.delete(hash);
      if (hit.epoch === epoch && this.now() - hit.loadedAt < CALLER_CACHE_TTL_MS) {
        this.entries.set(hash, hit);
        return { record: hit.record, principal: hit.principal };
      }
    }
    this.loads++;
    const loadedAt = this.now();
    const record = appKeyFromHash(hash, await this.redis.hgetall(this.ks.appKey(hash)));
    const principal = record ? await loadPrincipal(this.redis, this.ks, record.owner, record.orgId) : undefined;
    if (record && principal) {
      // Shared by every request with this key until it is dropped: frozen, so none can change it.
      for (const o of [record.scopes, record.owner, record, principal.roles, principal.teams, principal]) Object.freeze(o);
      this.entries.set(hash, { epoch, loadedAt, record, principal });
      if (this.entries.size > MAX_ENTRIES) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
    }
    return { record, principal };
  }
}
