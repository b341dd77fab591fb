/**
 * "Every lease ends" (ARCHITECTURE.md, leases): the runner may renew a lease only while the task
 * still exists on its side, as a job on `tasks` that can still run (waiting, active, delayed,
 * prioritized, paused) or as a result waiting in the `results` outbox. This file answers, for
 * every lease of the hash at once, which of those holds, reading BullMQ's keys in ONE pipeline
 * (six O(1) commands per lease, one round trip; no Lua, so keys of two queues need no shared slot):
 *
 * - `queued`: the task's job can still run: keep the lease.
 * - `outbox`: its result waits to be published: keep the lease.
 * - `lost`: the job failed and left no result (BullMQ failed it for stalling more than
 *   `maxStalledCount` times without running the processor, or it failed outside the action):
 *   the runner writes a `PAR_ERR_WORKER_LOST` result to the outbox, published like any other.
 * - `orphan`: neither job nor result (a runner killed between recording its leases and queuing the
 *   jobs, a job removed by hand): the lease is handed back.
 * - `finished`: the job finished and its result is gone (published, or dropped as stale): handed
 *   back like an orphan; if the control plane delivers the task again, intake removes the finished
 *   jobs first, so the new delivery runs instead of colliding with the old job id.
 *
 * Job key layout (BullMQ 5/6): `<prefix>:<queue>:<jobId>` hash; finished jobs are members of the
 * `<prefix>:<queue>:completed` / `:failed` sorted sets.
 */
import type { Queue } from 'bullmq';
import type { Redis } from '../lib/redis-connection.js';
import { RESULT_JOB_NAME, resultJobOptions } from '../contracts/job-options.js';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData } from '../contracts/jobs.js';
import type { LeaseEntry } from './lease-store.js';

export type LeaseState = 'queued' | 'outbox' | 'lost' | 'finished' | 'orphan';

export interface LeaseInspection extends LeaseEntry {
  state: LeaseState;
  /** BullMQ's reason, for `lost` (e.g. "job stalled more than allowable limit"). */
  failedReason?: string;
  /** Runs BullMQ started, for `lost`. */
  attemptsStarted?: number;
}

/** Reads BullMQ's view of each lease's task; `inspect` is one Redis round trip. */
export class LeaseReconciler {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
  ) {}

  async inspect(entries: readonly LeaseEntry[]): Promise<LeaseInspection[]> {
    if (entries.length === 0) return [];
    const t = `${this.queuePrefix}:${TASKS_QUEUE}:`;
    const r = `${this.queuePrefix}:${RESULTS_QUEUE}:`;
    const pipeline = this.redis.pipeline();
    for (const { taskId } of entries) {
      pipeline.hmget(`${t}${taskId}`, 'timestamp', 'failedReason', 'ats');
      pipeline.zscore(`${t}completed`, taskId);
      pipeline.zscore(`${t}failed`, taskId);
      pipeline.exists(`${r}${taskId}`);
      pipeline.zscore(`${r}completed`, taskId);
      pipeline.zscore(`${r}failed`, taskId);
    }
    const replies = (await pipeline.exec()) ?? [];
    return entries.map((entry, i) => {
      const at = (k: number): unknown => {
        const [error, value] = replies[i * 6 + k] ?? [new Error('no reply'), null];
        if (error) throw error;
        return value;
      };
      const [timestamp, failedReason, attemptsStarted] = at(0) as [string | null, string | null, string | null];
      const taskExists = timestamp !== null;
      const taskCompleted = at(1) !== null;
      const taskFailed = at(2) !== null;
      const resultExists = Number(at(3)) === 1;
      const resultFinished = at(4) !== null || at(5) !== null;
      if (resultExists && !resultFinished) return { ...entry, state: 'outbox' };
      if (taskExists && !taskCompleted && !taskFailed) return { ...entry, state: 'queued' };
      if (taskFailed && !resultExists) {
        return {
          ...entry,
          state: 'lost',
          ...(failedReason ? { failedReason } : {}),
          ...(attemptsStarted ? { attemptsStarted: Number(attemptsStarted) } : {}),
        };
      }
      return { ...entry, state: taskExists || resultExists ? 'finished' : 'orphan' };
    });
  }
}

/** BullMQ's failedReason for a job failed for stalling more than `maxStalledCount` times. */
export const STALLED_REASON = 'job stalled more than allowable limit';

/** One batch of PAR_ERR_WORKER_LOST results (job id = task id, so a real result already there wins). */
export async function reportWorkerLost(resultsQueue: Queue<ResultJobData>, lost: readonly LeaseInspection[]): Promise<void> {
  await resultsQueue.addBulk(
    lost.map((l) => ({
      name: RESULT_JOB_NAME,
      data: {
        taskId: l.taskId,
        outcome: {
          kind: 'failed',
          error: {
            code: 'PAR_ERR_WORKER_LOST',
            message:
              l.failedReason === STALLED_REASON
                ? 'the workers running this task stopped or stalled more often than the stall limit allows'
                : "the task's job failed on the runner without a result",
            retryable: false,
          },
          attempts: l.attemptsStarted ?? 0,
          durationMs: 0,
        },
      } satisfies ResultJobData,
      opts: resultJobOptions(l.taskId),
    })),
  );
}
