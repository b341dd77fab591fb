/**
 * A task's history (`task:<id>:events`, a capped list of JSON entries), written by the same Lua
 * scripts that change the task, in the same atomic step, so the history cannot disagree with
 * the task. Users read it through GET /api/v1/tasks/:id/events; it also makes exactly-once
 * reporting checkable: `result.recorded` appears at most once.
 */
import type { Redis } from 'ioredis';
import { taskEventSchema, type TaskEvent } from '../../contracts/tasks-api.js';
import type { KeySpace } from './key-space.js';

export const MAX_TASK_EVENTS = 200;

/** Lua prelude: `taskEvent(taskKey, at, type, attempt)`; the events key is `<taskKey>:events`. */
export const TASK_EVENT_LUA = `
local function taskEvent(taskKey, at, kind, attempt)
  local entry = { at = tonumber(at), type = kind }
  if attempt then entry.attempt = tonumber(attempt) end
  local k = taskKey .. ':events'
  redis.call('RPUSH', k, cjson.encode(entry))
  redis.call('LTRIM', k, -${MAX_TASK_EVENTS}, -1)
end
`;

export async function getTaskEvents(redis: Redis, ks: KeySpace, taskId: string): Promise<TaskEvent[]> {
  const raw = await redis.lrange(ks.taskEvents(taskId), 0, -1);
  return raw.map((line) => taskEventSchema.parse(JSON.parse(line)));
}
