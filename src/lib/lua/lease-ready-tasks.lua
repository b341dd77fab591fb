-- KEYS: runner ready list, leases, runner cancels set, runner, runner health. ARGV: task key prefix,
-- now, leaseMs, how many tasks wanted, one fresh random seed (base64url, fixed length) for this
-- pass, and, when the poll carries the runner's health check: its JSON, version and ttl ms
-- (recorded first, with now as receivedAt: runner-health-write). The first task
-- leased gets the seed as its lease token, the n-th `seed .. n` (distinct, and as unguessable as the
-- seed), so an empty pass costs one random seed, not one token per task wanted. Ids of tasks that are gone or no longer queued are dropped
-- (defensive: a result recorded for a requeued task removes its id from the list anyway). The
-- cancels set is taken whole: those ids go back in the same answer (store/task-cancel.ts).
--- @include "task-event"
--- @include "runner-health-write"
if ARGV[6] then runnerHealthWrite(KEYS[4], KEYS[5], ARGV[6], ARGV[7], ARGV[2], ARGV[8]) end
local now = tonumber(ARGV[2])
local expires = now + tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local seed = ARGV[5]
local out = {}
while #out < want do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'queued' then
    local token = seed
    if #out > 0 then token = seed .. (#out + 1) end
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'state', 'leased', 'leaseToken', token, 'leaseExpiresAt', expires)
    redis.call('ZADD', KEYS[2], expires, id)
    taskEvent(key, now, 'delivered', attempts)
    local f = redis.call('HMGET', key, 'jws', 'claims')
    out[#out + 1] = {id, attempts, token, f[1] or '', f[2] or ''}
  end
end
local cancelled = redis.call('SMEMBERS', KEYS[3])
if #cancelled > 0 then redis.call('DEL', KEYS[3]) end
return {expires, out, cancelled}
