/**
 * Recording a task's result, fenced by its lease token: exactly one final result per task.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { TaskOutcome } from '../../contracts/task.js';
import { runLuaScript } from '../../lib/redis-scripts.js';
import type { KeySpace } from './key-space.js';
import { STATS_MINUTE_MS, statsKey } from './runner-stats.js';

export type RecordResultStatus = 'recorded' | 'duplicate' | 'stale' | 'not_found';

export interface RecordResultAnswer {
  status: RecordResultStatus;
  /** For `recorded`: milliseconds from submission to this result (when the task has a createdAt). */
  submitToResultMs?: number;
}

export async function recordResult(
  redis: Redis,
  ks: KeySpace,
  p: { taskId: string; runnerId: string; leaseToken: string; outcome: TaskOutcome; now: number },
): Promise<RecordResultAnswer> {
  const state = p.outcome.kind === 'succeeded' ? 'succeeded' : 'failed';
  const result = await runLuaScript(
    redis,
    'result-record',
    [ks.task(p.taskId), ks.leases, ks.ready(p.runnerId), statsKey(ks, p.runnerId, Math.floor(p.now / STATS_MINUTE_MS))],
    [p.taskId, p.runnerId, p.leaseToken, state, JSON.stringify(p.outcome), p.now, ks.doneChannel, p.outcome.kind],
  );
  if (Array.isArray(result)) {
    const latency = Number(result[1]);
    return { status: 'recorded', ...(latency >= 0 ? { submitToResultMs: latency } : {}) };
  }
  return { status: result as RecordResultStatus };
}
