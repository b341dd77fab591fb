-- The runner's leases hash (src/runner/lease-store.ts): removes each entry whose token is still
-- the given one. KEYS[1] = hash; ARGV = taskId1, token1, taskId2, token2, ... Returns how many
-- were removed.
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed
