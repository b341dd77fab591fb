/**
 * Waiting for a task's final result inside one request (GET /api/v1/tasks/:id?wait= and
 * POST /api/v1/tasks?wait=): the caller arms a `task` waiter BEFORE the task can be read or can
 * finish, hands over what it knows of the task, and gets the final task, or the current one when
 * the wait ends first. A wake-up whose message carries the final fields (task-done-message.ts) is
 * answered from them, without reading Redis; any other wake-up, or the end of the wait, reads the
 * task back with `load`.
 */
import type { ArmedWait } from './wakeups.js';
import type { ControlPlaneDeps } from './deps.js';
import { isFinal, type TaskRecord } from './store/tasks.js';

export async function waitUntilFinal(
  deps: Pick<ControlPlaneDeps, 'now' | 'wakeups'>,
  armed: ArmedWait,
  first: TaskRecord,
  load: () => Promise<TaskRecord>,
  deadline: number,
  signal: AbortSignal,
): Promise<TaskRecord> {
  let task = first;
  while (!isFinal(task.state)) {
    const remaining = deadline - deps.now();
    if (remaining <= 0 || signal.aborted || deps.wakeups.isClosed) break;
    const woken = await armed.wait(remaining, signal);
    const final = armed.final;
    task = final ? { ...task, ...final } : await load();
    if (!woken) break;
  }
  return task;
}
