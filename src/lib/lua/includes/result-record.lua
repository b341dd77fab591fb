-- `recordResult(taskKey, leasesKey, readyKey, statsKey, taskId, runnerId, leaseToken, state,
-- outcomeJson, now, doneChannel, kind)`: records one task's final result, fenced by its lease
-- token; THE body of result-record.lua and result-record-batch.lua (one copy, so a single publish
-- and a batched one cannot answer differently). Returns 'not_found', 'duplicate', 'stale' or
-- {'recorded', latency ms from createdAt or -1, the task's attempts}.
-- The token must be the task's current one, whether its lease is live or lapsed; a lapsed lease
-- the sweeper requeued but nobody re-leased yet still counts (the id leaves the ready list).
-- A cancelled task keeps its `cancelled` result whatever the run reports later (any token: the
-- run may belong to an older delivery); a run that stopped as cancelled is noted as confirmed.
--- @include "task-event"
--- @include "runner-stats"
--- @include "task-done"
local function recordResult(taskKey, leasesKey, readyKey, statsKey, taskId, runnerId, leaseToken, state, outcomeJson, now, doneChannel, kind)
  local f = redis.call('HMGET', taskKey, 'runnerId', 'state', 'leaseToken', 'createdAt')
  if f[1] ~= runnerId then return 'not_found' end
  if f[2] == 'cancelled' then
    if kind == 'cancelled' then taskEvent(taskKey, now, 'cancel.confirmed') else taskEvent(taskKey, now, 'result.duplicate') end
    return 'duplicate'
  end
  if f[2] == 'succeeded' or f[2] == 'failed' then
    taskEvent(taskKey, now, 'result.duplicate')
    return 'duplicate'
  end
  if not f[3] or f[3] ~= leaseToken then
    taskEvent(taskKey, now, 'result.stale')
    return 'stale'
  end
  if f[2] == 'queued' then redis.call('LREM', readyKey, 0, taskId) end
  redis.call('HSET', taskKey, 'state', state, 'outcome', outcomeJson, 'finishedAt', now)
  redis.call('ZREM', leasesKey, taskId)
  local attempts = redis.call('HGET', taskKey, 'attempts')
  taskDone(doneChannel, taskId, state, attempts, now, outcomeJson)
  taskEvent(taskKey, now, 'result.recorded')
  local createdAt = tonumber(f[4])
  local latency = createdAt and math.max(0, tonumber(now) - createdAt) or nil
  recordStat(statsKey, kind, latency)
  return {'recorded', latency or -1, tonumber(attempts) or 0}
end
