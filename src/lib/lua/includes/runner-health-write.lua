-- Records a runner's health check: the check (JSON, kept ttl ms) and, on the runner hash, its
-- version and lastSeenAt. Written only while the runner exists, so a late check never resurrects
-- a deleted runner. Returns 1 when recorded, 0 when the runner is gone.
local function runnerHealthWrite(runnerKey, healthKey, json, version, receivedAt, ttlMs)
  if redis.call('EXISTS', runnerKey) == 0 then return 0 end
  redis.call('SET', healthKey, json, 'PX', ttlMs)
  redis.call('HSET', runnerKey, 'version', version, 'lastSeenAt', receivedAt)
  return 1
end
