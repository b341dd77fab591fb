-- KEYS: active pair, ring. ARGV: expected active kid, new pair JSON, new kid, new entry JSON,
-- old kid, old entry JSON, channel.
local current = redis.call('GET', KEYS[1])
if not current then return 'missing' end
if cjson.decode(current).kid ~= ARGV[1] then return 'conflict' end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return 'collision' end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[7], ARGV[3])
return 'ok'
