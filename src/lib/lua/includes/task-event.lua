-- `taskEvent(taskKey, at, type, attempt)`: appends to the task's history, the events key being
-- `<taskKey>:events`. 200 = MAX_TASK_EVENTS in src/control-plane/store/task-events.ts (a test
-- keeps them in step).
local function taskEvent(taskKey, at, kind, attempt)
  local entry = { at = tonumber(at), type = kind }
  if attempt then entry.attempt = tonumber(attempt) end
  local k = taskKey .. ':events'
  redis.call('RPUSH', k, cjson.encode(entry))
  redis.call('LTRIM', k, -200, -1)
end
