-- KEYS: runner, runner health. ARGV: health JSON, version, receivedAt, ttl ms.
-- The separate health endpoint; a poll carrying its check records it in lease-ready-tasks.lua.
--- @include "runner-health-write"
return runnerHealthWrite(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
