-- KEYS: runner, runner health. ARGV: health JSON, version, receivedAt, ttl ms.
-- Written only while the runner exists, so a late check never resurrects a deleted runner.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'lastSeenAt', ARGV[3])
return 1
