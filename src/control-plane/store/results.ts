/**
 * Recording a task's result, fenced by its lease token: exactly one final result per task.
 */
import type { Redis } from 'ioredis';
import type { TaskOutcome } from '../../contracts/task.js';
import type { KeySpace } from './key-space.js';
import { LuaScript } from './lua-script.js';
import { TASK_EVENT_LUA } from './task-events.js';
import { STATS_LUA, STATS_MINUTE_MS, statsKey } from './runner-stats.js';

export type RecordResultStatus = 'recorded' | 'duplicate' | 'stale' | 'not_found';

// KEYS: task, leases, runner ready list, runner stats minute (runner-stats.ts). ARGV: task id,
// runner id, lease token, final state, outcome JSON, now, done channel, outcome kind.
// The token must be the task's current one, whether its lease is live or lapsed; a lapsed lease
// the sweeper requeued but nobody re-leased yet still counts (the id leaves the ready list).
const RECORD = new LuaScript(`${TASK_EVENT_LUA}${STATS_LUA}
local f = redis.call('HMGET', KEYS[1], 'runnerId', 'state', 'leaseToken', 'createdAt')
if f[1] ~= ARGV[2] then return 'not_found' end
if f[2] == 'succeeded' or f[2] == 'failed' then
  taskEvent(KEYS[1], ARGV[6], 'result.duplicate')
  return 'duplicate'
end
if not f[3] or f[3] ~= ARGV[3] then
  taskEvent(KEYS[1], ARGV[6], 'result.stale')
  return 'stale'
end
if f[2] == 'queued' then redis.call('LREM', KEYS[3], 0, ARGV[1]) end
redis.call('HSET', KEYS[1], 'state', ARGV[4], 'outcome', ARGV[5], 'finishedAt', ARGV[6])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[7], ARGV[1])
taskEvent(KEYS[1], ARGV[6], 'result.recorded')
local createdAt = tonumber(f[4])
local latency = createdAt and math.max(0, tonumber(ARGV[6]) - createdAt) or nil
recordStat(KEYS[4], ARGV[8], latency)
return {'recorded', latency or -1}
`);

export interface RecordResultAnswer {
  status: RecordResultStatus;
  /** For `recorded`: milliseconds from submission to this result (when the task has a createdAt). */
  submitToResultMs?: number;
}

export async function recordResult(redis: Redis, ks: KeySpace, p: { taskId: string; runnerId: string; leaseToken: string; outcome: TaskOutcome; now: number }): Promise<RecordResultAnswer> {
  const state = p.outcome.kind === 'succeeded' ? 'succeeded' : 'failed';
  const result = await RECORD.run(redis, [ks.task(p.taskId), ks.leases, ks.ready(p.runnerId), statsKey(ks, p.runnerId, Math.floor(p.now / STATS_MINUTE_MS))], [
    p.taskId, p.runnerId, p.leaseToken, state, JSON.stringify(p.outcome), p.now, ks.doneChannel, p.outcome.kind,
  ]);
  if (Array.isArray(result)) {
    const latency = Number(result[1]);
    return { status: 'recorded', ...(latency >= 0 ? { submitToResultMs: latency } : {}) };
  }
  return { status: result as RecordResultStatus };
}
