/**
 * The sweeper's atomic step: tasks whose lease expired go back to the front of their runner's
 * ready list (keeping their lease token until a new delivery replaces it), or, once they were
 * delivered `maxDeliveries` times, fail with PAR_ERR_LEASE_EXPIRED.
 */
import type { Redis } from '../../lib/redis-connection.js';
import { ERROR_CODES } from '../../errors/codes.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';
import { STATS_MINUTE_MS, statsKey } from './runner-stats.js';

const BATCH = 200;

export interface SweepResult {
  requeued: number;
  failed: number;
}

export async function sweepExpiredLeases(redis: Redis, ks: KeySpace, now: number, maxDeliveries: number): Promise<SweepResult> {
  const total: SweepResult = { requeued: 0, failed: 0 };
  const runnerPrefix = ks.runner('');
  if (ks.ready('x') !== `${runnerPrefix}x:ready` || statsKey(ks, 'x', 1) !== `${runnerPrefix}x:stats:1`)
    throw new Error('key layout changed: update the sweep script');
  for (;;) {
    const [seen, requeued, failed] = (await runLuaScript(
      redis,
      'lease-sweep',
      [ks.leases],
      [
        ks.taskPrefix,
        now,
        maxDeliveries,
        BATCH,
        runnerPrefix,
        ks.readyChannel,
        ks.doneChannel,
        ERROR_CODES.PAR_ERR_LEASE_EXPIRED.message,
        Math.floor(now / STATS_MINUTE_MS),
      ],
    )) as [number, number, number];
    total.requeued += requeued;
    total.failed += failed;
    if (seen < BATCH) return total;
  }
}
