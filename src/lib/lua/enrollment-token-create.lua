-- KEYS: org runner names, runner, runner grants, all runners, token record, runner's current token.
-- ARGV: name, runner id, principal, token hash, org id, createdAt, expiresAt, pexpireat, then the runner hash.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('HSET', KEYS[3], ARGV[3], 'editor')
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('HSET', KEYS[5], 'runnerId', ARGV[2], 'orgId', ARGV[5], 'createdBy', ARGV[3], 'createdAt', ARGV[6], 'expiresAt', ARGV[7])
redis.call('PEXPIREAT', KEYS[5], ARGV[8])
redis.call('SET', KEYS[6], ARGV[4], 'PXAT', ARGV[8])
return 1
