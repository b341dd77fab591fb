/**
 * Indexes over tasks for the admin API: a runner's recent tasks (newest first, capped) and the
 * tasks submitted through a connection (to refuse deleting a connection still in use). They are
 * written by the submit script (store/tasks.ts submitSignedTask), with the task, in one step.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { KeySpace } from './key-space.js';
import { accessKeySpace } from './access-key-space.js';
import { getTask, isFinal, type TaskRecord } from './tasks.js';

/** Per runner, this many recent task ids are kept listable. */
export const RUNNER_TASKS_KEPT = 1000;

/** The newest `limit` tasks over the given runners. */
export async function listRunnerTasks(redis: Redis, ks: KeySpace, runnerIds: readonly string[], limit: number): Promise<TaskRecord[]> {
  const aks = accessKeySpace(ks);
  const scored: { id: string; at: number }[] = [];
  for (const runnerId of runnerIds) {
    const flat = await redis.zrevrange(aks.runnerTasks(runnerId), 0, limit - 1, 'WITHSCORES');
    for (let i = 0; i + 1 < flat.length; i += 2) scored.push({ id: flat[i] ?? '', at: Number(flat[i + 1]) });
  }
  scored.sort((a, b) => b.at - a.at);
  const tasks = await Promise.all(scored.slice(0, limit).map((s) => getTask(redis, ks, s.id)));
  return tasks.filter((t): t is TaskRecord => t !== undefined);
}

/** Ids of queued or leased tasks using the connection; final or vanished ones are pruned. */
export async function activeTasksUsing(redis: Redis, ks: KeySpace, connectionId: string): Promise<string[]> {
  const key = accessKeySpace(ks).connectionTasks(connectionId);
  const active: string[] = [];
  for (const id of await redis.smembers(key)) {
    const task = await getTask(redis, ks, id);
    if (task && !isFinal(task.state)) active.push(id);
    else await redis.srem(key, id);
  }
  return active;
}
