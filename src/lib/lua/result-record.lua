-- KEYS: task, leases, runner ready list, runner stats minute (runner-stats.ts). ARGV: task id,
-- runner id, lease token, final state, outcome JSON, now, done channel, outcome kind.
-- One result; the batch endpoint runs the same include over many (result-record-batch.lua).
--- @include "result-record"
return recordResult(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
