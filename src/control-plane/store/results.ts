/**
 * Recording a task's result, fenced by its lease token: exactly one final result per task.
 */
import type { Redis } from 'ioredis';
import type { TaskOutcome } from '../../contracts/task.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

export type RecordResultStatus = 'recorded' | 'duplicate' | 'stale' | 'not_found';

export async function recordResult(redis: Redis, ks: KeySpace, p: { taskId: string; runnerId: string; leaseToken: string; outcome: TaskOutcome; now: number }): Promise<RecordResultStatus> {
  const state = p.outcome.kind === 'succeeded' ? 'succeeded' : 'failed';
  const result = await runLuaScript(redis, 'result-record', [ks.task(p.taskId), ks.leases, ks.ready(p.runnerId)], [
    p.taskId, p.runnerId, p.leaseToken, state, JSON.stringify(p.outcome), p.now, ks.doneChannel,
  ]);
  return result as RecordResultStatus;
}
