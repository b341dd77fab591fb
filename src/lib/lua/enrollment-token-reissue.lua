-- KEYS: runner, runner's current token. ARGV: token-record prefix, new hash, runner id, org id,
-- principal, createdAt, expiresAt, pexpireat.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HEXISTS', KEYS[1], 'publicKey') == 1 then return 'enrolled' end
local old = redis.call('GET', KEYS[2])
if old then redis.call('DEL', ARGV[1] .. old) end
local key = ARGV[1] .. ARGV[2]
redis.call('HSET', key, 'runnerId', ARGV[3], 'orgId', ARGV[4], 'createdBy', ARGV[5], 'createdAt', ARGV[6], 'expiresAt', ARGV[7])
redis.call('PEXPIREAT', key, ARGV[8])
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[8])
return 'ok'
