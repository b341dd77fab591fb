/**
 * The sweeper's atomic step: tasks whose lease expired go back to the front of their runner's
 * ready list (keeping their lease token until a new delivery replaces it), or, once they were
 * delivered `maxDeliveries` times, fail with PAR_ERR_LEASE_EXPIRED.
 */
import type { Redis } from 'ioredis';
import { ERROR_CODES } from '../../errors/codes.js';
import type { KeySpace } from './key-space.js';
import { LuaScript } from './lua-script.js';
import { TASK_EVENT_LUA } from './task-events.js';
import { STATS_LUA, STATS_MINUTE_MS, statsKey } from './runner-stats.js';

const BATCH = 200;

// KEYS: leases. ARGV: task key prefix, now, maxDeliveries, batch size, ready list key prefix
// (`<prefix>:runner:`), ready channel, done channel, error message, stats minute.
// A task failed here counts as `expired` in its runner's per-minute stats (runner-stats.ts).
const SWEEP = new LuaScript(`${TASK_EVENT_LUA}${STATS_LUA}
local now = tonumber(ARGV[2])
local maxDeliveries = tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local requeued, failed = 0, 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'state', 'attempts', 'runnerId', 'createdAt')
  if f[1] == 'leased' then
    local attempts = tonumber(f[2]) or 0
    if attempts >= maxDeliveries then
      local outcome = cjson.encode({
        kind = 'failed',
        error = { code = 'PAR_ERR_LEASE_EXPIRED', message = ARGV[8], retryable = false },
        attempts = attempts,
        durationMs = math.max(0, now - (tonumber(f[4]) or now)),
      })
      redis.call('HSET', key, 'state', 'failed', 'outcome', outcome, 'finishedAt', now)
      redis.call('PUBLISH', ARGV[7], id)
      taskEvent(key, now, 'failed.lease_expired', attempts)
      recordStat(ARGV[5] .. f[3] .. ':stats:' .. ARGV[9], 'expired', nil)
      failed = failed + 1
    else
      redis.call('HSET', key, 'state', 'queued')
      redis.call('RPUSH', ARGV[5] .. f[3] .. ':ready', id)
      redis.call('PUBLISH', ARGV[6], f[3])
      taskEvent(key, now, 'lease.expired', attempts)
      requeued = requeued + 1
    end
  end
end
return {#ids, requeued, failed}
`);

export interface SweepResult {
  requeued: number;
  failed: number;
}

export async function sweepExpiredLeases(redis: Redis, ks: KeySpace, now: number, maxDeliveries: number): Promise<SweepResult> {
  const total: SweepResult = { requeued: 0, failed: 0 };
  const runnerPrefix = ks.runner('');
  if (ks.ready('x') !== `${runnerPrefix}x:ready` || statsKey(ks, 'x', 1) !== `${runnerPrefix}x:stats:1`) throw new Error('key layout changed: update the sweep script');
  for (;;) {
    const [seen, requeued, failed] = (await SWEEP.run(redis, [ks.leases], [
      ks.taskPrefix, now, maxDeliveries, BATCH, runnerPrefix, ks.readyChannel, ks.doneChannel, ERROR_CODES.PAR_ERR_LEASE_EXPIRED.message,
      Math.floor(now / STATS_MINUTE_MS),
    ])) as [number, number, number];
    total.requeued += requeued;
    total.failed += failed;
    if (seen < BATCH) return total;
  }
}
