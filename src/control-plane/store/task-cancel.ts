/**
 * Cancelling a task: one atomic step that records `cancelled` as the task's final result, unless
 * it already has one. A queued task leaves its runner's ready list (it is never delivered); a
 * leased one (or one delivered before, whose runner may still run it) leaves the sweeper's lease
 * set and goes on the runner's cancels set, and the runner's waiting dequeue is woken: its answer
 * names the task (store/leases.ts), and every heartbeat names it too, in case that answer is lost.
 * The runner then stops the run. Whatever that run reports later is
 * acknowledged and recorded nowhere (store/results.ts), so the result is recorded exactly once.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { TaskState } from '../../contracts/task.js';
import { ERROR_CODES } from '../../errors/codes.js';
import { runLuaScript } from '../../lib/redis-scripts.js';
import type { KeySpace } from './key-space.js';
import { STATS_MINUTE_MS, statsKey } from './runner-stats.js';

export type CancelStatus =
  /** Recorded now; `was` is the state it had (queued: never ran; leased: a runner may be running it). */
  | { status: 'cancelled'; was: 'queued' | 'leased' }
  /** It was cancelled before: nothing changed (cancelling is idempotent). */
  | { status: 'already_cancelled' }
  /** It has another final result: nothing changed. */
  | { status: 'finished'; state: TaskState }
  | { status: 'not_found' };

/** A runner that does not poll for this long gets its cancels from heartbeats only. */
export const RUNNER_CANCELS_TTL_MS = 24 * 60 * 60 * 1000;

export async function cancelTask(
  redis: Redis,
  ks: KeySpace,
  p: { taskId: string; runnerId: string; now: number; by: string },
): Promise<CancelStatus> {
  const message = `${ERROR_CODES.PAR_ERR_TASK_CANCELLED.message} by ${p.by}`;
  const reply = (await runLuaScript(
    redis,
    'task-cancel',
    [
      ks.task(p.taskId),
      ks.leases,
      ks.ready(p.runnerId),
      ks.runnerCancels(p.runnerId),
      statsKey(ks, p.runnerId, Math.floor(p.now / STATS_MINUTE_MS)),
    ],
    [p.taskId, p.now, ks.doneChannel, message, ks.readyChannel, p.runnerId, RUNNER_CANCELS_TTL_MS],
  )) as string[];
  switch (reply[0]) {
    case 'cancelled':
      return { status: 'cancelled', was: reply[1] === 'leased' ? 'leased' : 'queued' };
    case 'already_cancelled':
      return { status: 'already_cancelled' };
    case 'finished':
      return { status: 'finished', state: reply[1] as TaskState };
    case 'not_found':
      return { status: 'not_found' };
    default:
      throw new Error(`unexpected answer of the cancel script for task ${p.taskId}: ${JSON.stringify(reply)}`);
  }
}
