-- `recordStat(statsKey, outcome, latencyMs or nil)`: counts a final result in its runner's
-- per-minute stats hash (src/control-plane/store/runner-stats.ts, which documents the fields). The
-- caller builds the key as `<runner key>:stats:<math.floor(now / 60000)>` (statsKey). The bucket
-- bounds are LATENCY_BOUNDS_MS and 7200000 is STATS_TTL_MS (2 h): a test keeps them in step.
local statsBounds = {50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 900000, 3600000}
local function recordStat(statsKey, outcome, latencyMs)
  redis.call('HINCRBY', statsKey, 'n:' .. outcome, 1)
  if latencyMs then
    local b = #statsBounds
    for i, bound in ipairs(statsBounds) do
      if latencyMs <= bound then b = i - 1 break end
    end
    redis.call('HINCRBY', statsKey, 'l:' .. b, 1)
  end
  redis.call('PEXPIRE', statsKey, 7200000)
end
