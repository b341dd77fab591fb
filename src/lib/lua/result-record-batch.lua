-- KEYS: leases, runner ready list, runner stats minute (runner-stats.ts). ARGV: task key prefix,
-- runner id, now, done channel, then per result 5 values: task id, lease token, final state,
-- outcome JSON, outcome kind. All results of one runner at one instant, each recorded exactly as
-- result-record.lua records one (same include), in order. Returns one answer per result, as
-- result-record.lua answers (a status, or {'recorded', latency, attempts}).
--- @include "result-record"
local out = {}
for i = 5, #ARGV, 5 do
  local id = ARGV[i]
  out[#out + 1] = recordResult(ARGV[1] .. id, KEYS[1], KEYS[2], KEYS[3], id, ARGV[2], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[3], ARGV[4], ARGV[i + 4])
end
return out
