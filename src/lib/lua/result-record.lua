-- KEYS: task, leases, runner ready list, runner stats minute (runner-stats.ts). ARGV: task id,
-- runner id, lease token, final state, outcome JSON, now, done channel, outcome kind.
-- The token must be the task's current one, whether its lease is live or lapsed; a lapsed lease
-- the sweeper requeued but nobody re-leased yet still counts (the id leaves the ready list).
-- A cancelled task keeps its `cancelled` result whatever the run reports later (any token: the
-- run may belong to an older delivery); a run that stopped as cancelled is noted as confirmed.
--- @include "task-event"
--- @include "runner-stats"
--- @include "task-done"
local f = redis.call('HMGET', KEYS[1], 'runnerId', 'state', 'leaseToken', 'createdAt')
if f[1] ~= ARGV[2] then return 'not_found' end
if f[2] == 'cancelled' then
  if ARGV[8] == 'cancelled' then taskEvent(KEYS[1], ARGV[6], 'cancel.confirmed') else taskEvent(KEYS[1], ARGV[6], 'result.duplicate') end
  return 'duplicate'
end
if f[2] == 'succeeded' or f[2] == 'failed' then
  taskEvent(KEYS[1], ARGV[6], 'result.duplicate')
  return 'duplicate'
end
if not f[3] or f[3] ~= ARGV[3] then
  taskEvent(KEYS[1], ARGV[6], 'result.stale')
  return 'stale'
end
if f[2] == 'queued' then redis.call('LREM', KEYS[3], 0, ARGV[1]) end
redis.call('HSET', KEYS[1], 'state', ARGV[4], 'outcome', ARGV[5], 'finishedAt', ARGV[6])
redis.call('ZREM', KEYS[2], ARGV[1])
taskDone(ARGV[7], ARGV[1], ARGV[4], redis.call('HGET', KEYS[1], 'attempts'), ARGV[6], ARGV[5])
taskEvent(KEYS[1], ARGV[6], 'result.recorded')
local createdAt = tonumber(f[4])
local latency = createdAt and math.max(0, tonumber(ARGV[6]) - createdAt) or nil
recordStat(KEYS[4], ARGV[8], latency)
return {'recorded', latency or -1}
