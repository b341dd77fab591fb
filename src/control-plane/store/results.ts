/**
 * Recording task results, fenced by their lease tokens: exactly one final result per task. One
 * result (result-record.lua) or a runner's batch in one script call (result-record-batch.lua); both
 * scripts run the same include (src/lib/lua/includes/result-record.lua), so they answer alike.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { TaskOutcome } from '../../contracts/task.js';
import { runLuaScript } from '../../lib/redis-scripts.js';
import type { KeySpace } from './key-space.js';
import type { TaskFinal } from '../task-done-message.js';
import { STATS_MINUTE_MS, statsKey } from './runner-stats.js';

export type RecordResultStatus = 'recorded' | 'duplicate' | 'stale' | 'not_found';

export interface RecordResultAnswer {
  status: RecordResultStatus;
  /** For `recorded`: milliseconds from submission to this result (when the task has a createdAt). */
  submitToResultMs?: number;
  /** For `recorded`: the task's final fields, as the done message carries them (to wake local waiters). */
  final?: TaskFinal;
}

export interface ResultItem {
  taskId: string;
  leaseToken: string;
  outcome: TaskOutcome;
}

function finalState(outcome: TaskOutcome): 'succeeded' | 'failed' {
  return outcome.kind === 'succeeded' ? 'succeeded' : 'failed';
}

/** The script's answer for one result: a status, or ['recorded', latency or -1, attempts]. */
function toAnswer(result: unknown, outcome: TaskOutcome, now: number): RecordResultAnswer {
  if (Array.isArray(result)) {
    const latency = Number(result[1]);
    const final: TaskFinal = { state: finalState(outcome), attempts: Number(result[2] ?? 0), finishedAt: now, outcome };
    return { status: 'recorded', ...(latency >= 0 ? { submitToResultMs: latency } : {}), final };
  }
  return { status: result as RecordResultStatus };
}

export async function recordResult(
  redis: Redis,
  ks: KeySpace,
  p: { taskId: string; runnerId: string; leaseToken: string; outcome: TaskOutcome; now: number },
): Promise<RecordResultAnswer> {
  const result = await runLuaScript(
    redis,
    'result-record',
    [ks.task(p.taskId), ks.leases, ks.ready(p.runnerId), statsKey(ks, p.runnerId, Math.floor(p.now / STATS_MINUTE_MS))],
    [p.taskId, p.runnerId, p.leaseToken, finalState(p.outcome), JSON.stringify(p.outcome), p.now, ks.doneChannel, p.outcome.kind],
  );
  return toAnswer(result, p.outcome, p.now);
}

/** Records a runner's results in one script call; one answer per item, in order. */
export async function recordResults(
  redis: Redis,
  ks: KeySpace,
  p: { runnerId: string; items: readonly ResultItem[]; now: number },
): Promise<RecordResultAnswer[]> {
  if (p.items.length === 0) return [];
  const args: (string | number)[] = [ks.taskPrefix, p.runnerId, p.now, ks.doneChannel];
  for (const item of p.items) {
    args.push(item.taskId, item.leaseToken, finalState(item.outcome), JSON.stringify(item.outcome), item.outcome.kind);
  }
  const answers = (await runLuaScript(
    redis,
    'result-record-batch',
    [ks.leases, ks.ready(p.runnerId), statsKey(ks, p.runnerId, Math.floor(p.now / STATS_MINUTE_MS))],
    args,
  )) as unknown[];
  return p.items.map((item, i) => toAnswer(answers[i], item.outcome, p.now));
}
