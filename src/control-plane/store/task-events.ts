/**
 * A task's history (`task:<id>:events`, a capped list of JSON entries), written by the same Lua
 * scripts that change the task, in the same atomic step, so the history cannot disagree with
 * the task. Users read it through GET /api/v1/tasks/:id/events; it also makes exactly-once
 * reporting checkable: `result.recorded` appears at most once.
 */
import type { Redis } from '../../lib/redis-connection.js';
import { taskEventSchema, type TaskEvent } from '../../contracts/tasks-api.js';
import type { KeySpace } from './key-space.js';

/** Entries kept per task: the Lua include src/lib/lua/includes/task-event.lua trims to this many. */
export const MAX_TASK_EVENTS = 200;

export async function getTaskEvents(redis: Redis, ks: KeySpace, taskId: string): Promise<TaskEvent[]> {
  const raw = await redis.lrange(ks.taskEvents(taskId), 0, -1);
  return raw.map((line) => taskEventSchema.parse(JSON.parse(line)));
}
