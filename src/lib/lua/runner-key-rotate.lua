-- KEYS: runner hash, jti key. ARGV: expected current publicKey JSON, new publicKey JSON,
-- previousKeyUntil, rotatedAt, jti TTL (ms).
if redis.call('HGET', KEYS[1], 'id') == false then return 'unknown' end
if redis.call('HGET', KEYS[1], 'publicKey') ~= ARGV[1] then return 'stale' end
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[5]) then return 'replayed' end
redis.call('HSET', KEYS[1], 'publicKey', ARGV[2], 'previousPublicKey', ARGV[1], 'previousKeyUntil', ARGV[3], 'keyRotatedAt', ARGV[4])
return 'ok'
