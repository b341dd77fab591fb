/**
 * Cancelling a task: one atomic step that records `cancelled` as the task's final result, unless
 * it already has one. A queued task leaves its runner's ready list (it is never delivered); a
 * leased one (or one delivered before, whose runner may still run it) leaves the sweeper's lease
 * set and goes on the runner's cancels set, and the runner's waiting dequeue is woken: its answer
 * names the task (store/leases.ts), and every heartbeat names it too, in case that answer is lost.
 * The runner then stops the run. Whatever that run reports later is
 * acknowledged and recorded nowhere (store/results.ts), so the result is recorded exactly once.
 */
import type { Redis } from 'ioredis';
import type { TaskState } from '../../contracts/task.js';
import { ERROR_CODES } from '../../errors/codes.js';
import type { KeySpace } from './key-space.js';
import { LuaScript } from './lua-script.js';
import { STATS_LUA, STATS_MINUTE_MS, statsKey } from './runner-stats.js';
import { TASK_EVENT_LUA } from './task-events.js';

export type CancelStatus =
  /** Recorded now; `was` is the state it had (queued: never ran; leased: a runner may be running it). */
  | { status: 'cancelled'; was: 'queued' | 'leased' }
  /** It was cancelled before: nothing changed (cancelling is idempotent). */
  | { status: 'already_cancelled' }
  /** It has another final result: nothing changed. */
  | { status: 'finished'; state: TaskState }
  | { status: 'not_found' };

// KEYS: task, leases, runner ready list, runner cancels set (of the task's runner), runner stats
// minute (runner-stats.ts: the cancel counts in the page's charts like any final result). ARGV: task id,
// now, done channel, error message (names who cancelled), ready channel, runner id, cancels TTL
// (ms). The outcome is built here from the stored
// attempts and creation time, so it matches the state it replaces.
const CANCEL = new LuaScript(`${TASK_EVENT_LUA}${STATS_LUA}
local f = redis.call('HMGET', KEYS[1], 'state', 'attempts', 'createdAt')
local state = f[1]
if not state then return {'not_found'} end
if state == 'cancelled' then return {'already_cancelled'} end
if state ~= 'queued' and state ~= 'leased' then return {'finished', state} end
local now = tonumber(ARGV[2])
local outcome = cjson.encode({
  kind = 'cancelled',
  error = { code = 'PAR_ERR_TASK_CANCELLED', message = ARGV[4], retryable = false },
  attempts = tonumber(f[2]) or 0,
  durationMs = math.max(0, now - (tonumber(f[3]) or now)),
})
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'outcome', outcome, 'finishedAt', now)
taskEvent(KEYS[1], now, 'cancelled')
recordStat(KEYS[5], 'cancelled', tonumber(f[3]) and math.max(0, now - tonumber(f[3])) or nil)
redis.call('PUBLISH', ARGV[3], ARGV[1])
if state == 'leased' or (tonumber(f[2]) or 0) > 0 then
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('PEXPIRE', KEYS[4], ARGV[7])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return {'cancelled', state}
`);

/** A runner that does not poll for this long gets its cancels from heartbeats only. */
export const RUNNER_CANCELS_TTL_MS = 24 * 60 * 60 * 1000;

export async function cancelTask(redis: Redis, ks: KeySpace, p: { taskId: string; runnerId: string; now: number; by: string }): Promise<CancelStatus> {
  const message = `${ERROR_CODES.PAR_ERR_TASK_CANCELLED.message} by ${p.by}`;
  const reply = (await CANCEL.run(redis, [ks.task(p.taskId), ks.leases, ks.ready(p.runnerId), ks.runnerCancels(p.runnerId), statsKey(ks, p.runnerId, Math.floor(p.now / STATS_MINUTE_MS))], [
    p.taskId, p.now, ks.doneChannel, message, ks.readyChannel, p.runnerId, RUNNER_CANCELS_TTL_MS,
  ])) as string[];
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
