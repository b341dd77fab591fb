-- KEYS: runner, grants, ready list, org runner names, all runners, runner connections, runner
-- tasks, health, current enrollment token, leases. ARGV: runner id, runner name, connection key
-- prefix, task key prefix, now, done channel, failure message. Deletes the connections too.
--- @include "task-event"
--- @include "task-done"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
-- Its open tasks can never run now: fail them (once each) rather than leave them queued forever.
local open = redis.call('ZRANGE', KEYS[7], 0, -1)
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do open[#open + 1] = id end
for _, id in ipairs(open) do
  local key = ARGV[4] .. id
  local state = redis.call('HGET', key, 'state')
  if state == 'queued' or state == 'leased' then
    local attempts = tonumber(redis.call('HGET', key, 'attempts')) or 0
    local outcome = cjson.encode({ kind = 'failed', error = { code = 'PAR_ERR_RUNNER_DELETED', message = ARGV[7], retryable = false }, attempts = attempts, durationMs = 0 })
    redis.call('HSET', key, 'state', 'failed', 'outcome', outcome, 'finishedAt', ARGV[5])
    redis.call('ZREM', KEYS[10], id)
    taskDone(ARGV[6], id, 'failed', attempts, ARGV[5], outcome)
    taskEvent(key, ARGV[5], 'failed.runner_deleted', attempts)
  end
end
for _, id in ipairs(redis.call('HVALS', KEYS[6])) do
  redis.call('DEL', ARGV[3] .. id, ARGV[3] .. id .. ':tasks')
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
if redis.call('HGET', KEYS[4], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[4], ARGV[2]) end
redis.call('SREM', KEYS[5], ARGV[1])
return 1
