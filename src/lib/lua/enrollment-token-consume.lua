-- KEYS: token record. ARGV: now, runner key prefix, public key, version, allowlist JSON or ''.
local t = redis.call('HMGET', KEYS[1], 'runnerId', 'expiresAt', 'usedAt')
if not t[1] then return {'invalid'} end
if t[3] then return {'used'} end
if tonumber(t[2]) <= tonumber(ARGV[1]) then return {'expired'} end
local rk = ARGV[2] .. t[1]
if redis.call('EXISTS', rk) == 0 then return {'invalid'} end
if redis.call('HEXISTS', rk, 'publicKey') == 1 then return {'used'} end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[1])
redis.call('HSET', rk, 'publicKey', ARGV[3], 'version', ARGV[4], 'enrolledAt', ARGV[1])
if ARGV[5] ~= '' then redis.call('HSET', rk, 'allowlist', ARGV[5]) end
return {'ok', t[1]}
