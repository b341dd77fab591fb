-- KEYS: task, runner ready list, leases. ARGV: id, runnerId, orgId, action, jws, claims ('' = none), now, ready channel.
-- Re-enqueueing a task that is not final makes it queued again (like a lease expiry: the current
-- lease token stays valid until a new delivery replaces it).
--- @include "task-event"
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then return 'final' end
local owner = redis.call('HGET', KEYS[1], 'runnerId')
if owner and owner ~= ARGV[2] then return 'other_runner' end
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[7])
redis.call('HSETNX', KEYS[1], 'attempts', 0)
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'runnerId', ARGV[2], 'orgId', ARGV[3], 'action', ARGV[4], 'jws', ARGV[5], 'state', 'queued')
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'claims', ARGV[6]) else redis.call('HDEL', KEYS[1], 'claims') end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[8], ARGV[2])
taskEvent(KEYS[1], ARGV[7], 'submitted')
return 'ok'
