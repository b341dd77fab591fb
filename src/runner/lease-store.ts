/**
 * The runner's leases hash in its Redis (`leasesKey(prefix, runnerId)`): task id -> newest lease
 * token. Written on every delivery (the newest token always wins), read by the lease keeper for
 * heartbeats and by the result publisher to publish under the current lease. It lives in Redis,
 * so leases and results survive a runner restart.
 *
 * Removals are conditional on the token still being the one the caller saw: a delivery that
 * arrives between a read and a removal must not lose its fresh token.
 */
import type { Redis } from '../lib/redis-connection.js';
import { leasesKey } from '../contracts/jobs.js';
import { runLuaScript } from '../lib/redis-scripts.js';

export interface LeaseEntry {
  taskId: string;
  leaseToken: string;
}

export class LeaseStore {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    runnerId: string,
  ) {
    this.key = leasesKey(prefix, runnerId);
  }

  /** One HSET for a whole dequeue response. Later entries for the same task win. */
  async record(entries: readonly LeaseEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const fields: string[] = [];
    for (const e of entries) fields.push(e.taskId, e.leaseToken);
    await this.redis.hset(this.key, ...fields);
  }

  async get(taskId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key, taskId)) ?? undefined;
  }

  /** The tokens of many tasks in one HMGET (undefined where none is recorded), in order. */
  async getMany(taskIds: readonly string[]): Promise<(string | undefined)[]> {
    if (taskIds.length === 0) return [];
    const tokens = await this.redis.hmget(this.key, ...taskIds);
    return tokens.map((t) => t ?? undefined);
  }

  async all(): Promise<LeaseEntry[]> {
    const hash = await this.redis.hgetall(this.key);
    return Object.entries(hash).map(([taskId, leaseToken]) => ({ taskId, leaseToken }));
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.key);
  }

  /** Removes each entry whose token is still the given one (one script: src/lib/lua/runner-lease-remove-if-current.lua). */
  async removeIfCurrent(entries: readonly LeaseEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const args: string[] = [];
    for (const e of entries) args.push(e.taskId, e.leaseToken);
    return Number(await runLuaScript(this.redis, 'runner-lease-remove-if-current', [this.key], args));
  }
}
