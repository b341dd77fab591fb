-- `taskDone(channel, id, state, attempts, finishedAt, outcome)`: tells the control plane's
-- waiters (src/control-plane/wakeups.ts) that a task is final, with what they answer, so a woken
-- waiter reads nothing back: `v1 <id> <state> <attempts> <finishedAt> <outcome JSON>` (parsed
-- by src/control-plane/task-done-message.ts). Every control plane process receives every such
-- message, so an outcome over 16 KiB (= MAX_INLINE_OUTCOME there) is left out: the bare id,
-- and its waiters read the task as before.
local function taskDone(channel, id, state, attempts, finishedAt, outcome)
  if #outcome > 16384 then
    redis.call('PUBLISH', channel, id)
  else
    redis.call('PUBLISH', channel, 'v1 ' .. id .. ' ' .. state .. ' ' .. (tonumber(attempts) or 0) .. ' ' .. finishedAt .. ' ' .. outcome)
  end
end
