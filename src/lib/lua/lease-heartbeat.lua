-- KEYS: leases, runner ready list. ARGV: task key prefix, now, leaseMs, runner id, then task id /
-- token pairs. A current token whose task the sweeper already requeued (not yet redelivered)
-- takes the task back: the runner is alive and still working on it, so a second run is avoided.
-- Cancelled tasks are `final` and also listed (whatever the token) so the runner stops them.
local now = tonumber(ARGV[2])
local expires = now + tonumber(ARGV[3])
local out = {}
local cancelled = {}
for i = 5, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'runnerId', 'state', 'leaseToken')
  local status
  if f[1] ~= ARGV[4] then status = 'unknown'
  elseif f[2] == 'cancelled' then
    status = 'final'
    cancelled[#cancelled + 1] = id
  elseif f[2] == 'succeeded' or f[2] == 'failed' then status = 'final'
  elseif f[3] ~= token then status = 'stale'
  else
    if f[2] == 'queued' then redis.call('LREM', KEYS[2], 0, id) end
    redis.call('HSET', key, 'state', 'leased', 'leaseExpiresAt', expires)
    redis.call('ZADD', KEYS[1], expires, id)
    status = 'ok'
  end
  out[#out + 1] = status
end
return {expires, out, cancelled}
