-- KEYS: task, leases, runner ready list, runner cancels set (of the task's runner), runner stats
-- minute (runner-stats.ts: the cancel counts in the page's charts like any final result). ARGV: task id,
-- now, done channel, error message (names who cancelled), ready channel, runner id, cancels TTL
-- (ms). The outcome is built here from the stored
-- attempts and creation time, so it matches the state it replaces.
--- @include "task-event"
--- @include "runner-stats"
--- @include "task-done"
local f = redis.call('HMGET', KEYS[1], 'state', 'attempts', 'createdAt')
local state = f[1]
if not state then return {'not_found'} end
if state == 'cancelled' then return {'already_cancelled'} end
if state ~= 'queued' and state ~= 'leased' then return {'finished', state} end
local now = tonumber(ARGV[2])
local outcome = cjson.encode({
  kind = 'cancelled',
  error = { code = 'PAR_ERR_TASK_CANCELLED', message = ARGV[4], retryable = false },
  attempts = tonumber(f[2]) or 0,
  durationMs = math.max(0, now - (tonumber(f[3]) or now)),
})
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'outcome', outcome, 'finishedAt', now)
taskEvent(KEYS[1], now, 'cancelled')
recordStat(KEYS[5], 'cancelled', tonumber(f[3]) and math.max(0, now - tonumber(f[3])) or nil)
taskDone(ARGV[3], ARGV[1], 'cancelled', f[2], now, outcome)
if state == 'leased' or (tonumber(f[2]) or 0) > 0 then
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('PEXPIRE', KEYS[4], ARGV[7])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return {'cancelled', state}
