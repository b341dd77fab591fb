-- KEYS: task, runner ready list, runner task index, connection task index (or the task key again
-- when there is no connection), idempotency record (or the task key again when there is no key).
-- ARGV: id, runnerId, orgId, action, jws, claims ('' = none), now, ready channel, index size kept,
-- has connection ('1'/'0'), has key ('1'/'0'), request fingerprint, idempotency window (ms).
-- Every read and check comes before the first write, and no write can fail on types (the keys
-- are ours), so the script stores everything or nothing (Redis does not roll a script back).
--- @include "task-event"
if ARGV[11] == '1' then
  local existing = redis.call('HGET', KEYS[5], 'taskId')
  if existing then
    if redis.call('HGET', KEYS[5], 'fingerprint') ~= ARGV[12] then return {'reused', existing} end
    return {'replayed', existing}
  end
end
-- The same submission sent again by the client library after a reconnect: already stored.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'created', ARGV[1]} end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'runnerId', ARGV[2], 'orgId', ARGV[3], 'action', ARGV[4], 'jws', ARGV[5], 'state', 'queued', 'createdAt', ARGV[7], 'attempts', 0)
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'claims', ARGV[6]) end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[9]) + 1))
if ARGV[10] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
if ARGV[11] == '1' then
  redis.call('HSET', KEYS[5], 'taskId', ARGV[1], 'fingerprint', ARGV[12])
  redis.call('PEXPIRE', KEYS[5], ARGV[13])
end
taskEvent(KEYS[1], ARGV[7], 'submitted')
redis.call('PUBLISH', ARGV[8], ARGV[2])
return {'created', ARGV[1]}
