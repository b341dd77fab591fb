-- KEYS: leases. ARGV: task key prefix, now, maxDeliveries, batch size, ready list key prefix
-- (`<prefix>:runner:`), ready channel, done channel, error message, stats minute.
-- A task failed here counts as `expired` in its runner's per-minute stats (runner-stats.ts).
--- @include "task-event"
--- @include "runner-stats"
--- @include "task-done"
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
      taskDone(ARGV[7], id, 'failed', attempts, now, outcome)
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
