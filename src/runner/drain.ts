/**
 * Graceful drain of the runner on SIGTERM (`close()` in main.ts), bounded by `PAR_RUNNER_DRAIN_MS`:
 *
 * 1. polling has stopped (no new leases);
 * 2. unstarted tasks are handed back: their jobs still waiting (or delayed, prioritized) on
 *    `tasks` are removed and their leases dropped from the hash, so they are no longer heartbeated
 *    and the control plane delivers them again when the lease lapses (to another replica of this
 *    runner, or to this one after its restart). A job a worker took meanwhile cannot be removed
 *    (it is locked) and counts as running;
 * 3. running tasks keep their leases heartbeated and their results published until none is
 *    active and the outbox is empty, or the deadline passes;
 * 4. whatever went back to waiting meanwhile (a worker's own drain hands its aborted jobs back to
 *    the queue) is handed back too.
 *
 * Past the deadline, a task still running keeps its job; its result stays in the outbox and is
 * published by the next runner start, or the task is delivered again after its lease lapses.
 */
import type { Queue } from 'bullmq';
import type { ResultJobData, TaskJobData } from '../contracts/jobs.js';
import type { Logger } from '../logging/logger.js';
import type { LeaseEntry, LeaseStore } from './lease-store.js';
import { sleep } from '../lib/timing.js';

export interface DrainDeps {
  tasksQueue: Queue<TaskJobData>;
  resultsQueue: Queue<ResultJobData>;
  leases: LeaseStore;
  logger: Logger;
}

/** Removes the jobs no worker has started and drops their leases; returns the task ids handed back. */
export async function handBackUnstarted(deps: DrainDeps): Promise<string[]> {
  const jobs = await deps.tasksQueue.getJobs(['waiting', 'delayed', 'prioritized']);
  const removed: string[] = [];
  await Promise.all(
    jobs.map(async (job) => {
      if (job.id === undefined) return;
      try {
        await job.remove();
        removed.push(job.id);
      } catch {
        // Locked: a worker started it between the listing and the removal; it is running now.
      }
    }),
  );
  if (removed.length === 0) return removed;
  const ids = new Set(removed);
  const entries: LeaseEntry[] = (await deps.leases.all()).filter((e) => ids.has(e.taskId));
  await deps.leases.removeIfCurrent(entries);
  deps.logger.info(
    { count: removed.length, taskIds: removed.slice(0, 20) },
    'unstarted tasks handed back: the control plane delivers them again when their leases lapse',
  );
  return removed;
}

/** Tasks still running on a worker plus results not yet published. */
export async function countUnfinished(deps: DrainDeps): Promise<{ running: number; unpublished: number }> {
  const [running, unpublished] = await Promise.all([
    deps.tasksQueue.getJobCountByTypes('active'),
    deps.resultsQueue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized'),
  ]);
  return { running, unpublished };
}

/**
 * Steps 2-4 above. Resolves when nothing runs and nothing waits to be published, or at
 * `deadlineMs`; never throws (a Redis outage ends the drain at the deadline).
 */
export async function drain(deps: DrainDeps, deadlineMs: number, pollMs = 200): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  const log = deps.logger;
  try {
    await handBackUnstarted(deps);
  } catch (error) {
    log.warn({ err: error }, 'cannot hand back unstarted tasks; they are delivered again when their leases lapse');
  }
  let last = { running: -1, unpublished: -1 };
  while (Date.now() < deadline) {
    try {
      last = await countUnfinished(deps);
      if (last.running === 0 && last.unpublished === 0) break;
    } catch {
      // Redis unreachable: keep waiting until the deadline.
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
  }
  if (last.running > 0 || last.unpublished > 0) {
    log.warn(
      { ...last, deadlineMs },
      'drain deadline reached: running tasks keep their jobs; results stay in the outbox for the next start',
    );
  }
  try {
    await handBackUnstarted(deps);
  } catch {
    // As above.
  }
}
