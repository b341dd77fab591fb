-- KEYS: leases. ARGV: task key prefix, now, leaseMs. Every lease gets at least one full lease
-- period from now, never less than it had.
local now = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local id = entries[i]
  local expires = math.max(tonumber(entries[i + 1]), now) + leaseMs
  redis.call('ZADD', KEYS[1], expires, id)
  redis.call('HSET', ARGV[1] .. id, 'leaseExpiresAt', expires)
end
return #entries / 2
