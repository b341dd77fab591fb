/**
 * Leases: handing tasks out (dequeue), keeping them (heartbeat), and the start-up grace period.
 * A lease is the pair (leaseToken, leaseExpiresAt) on the task hash plus the task's entry in the
 * global `leases` sorted set (score = expiry) that the sweeper scans.
 */
import type { Redis } from 'ioredis';
import type { UnsignedTaskClaims } from '../../crypto/task-signature.js';
import type { KeySpace } from './key-space.js';
import { LuaScript } from './lua-script.js';
import { TASK_EVENT_LUA } from './task-events.js';

export interface LeasedTask {
  taskId: string;
  attempt: number;
  leaseToken: string;
  leaseExpiresAt: number;
  /** The stored JWS (as signed at submit time). */
  signedTask: string;
  /** Present when the control plane signed the task itself and may re-sign it. */
  claims?: UnsignedTaskClaims;
}

// KEYS: runner ready list, leases, runner cancels set. ARGV: task key prefix, now, leaseMs, then one
// fresh lease token per task wanted. Ids of tasks that are gone or no longer queued are dropped
// (defensive: a result recorded for a requeued task removes its id from the list anyway). The
// cancels set is taken whole: those ids go back in the same answer (store/task-cancel.ts).
const LEASE = new LuaScript(`${TASK_EVENT_LUA}
local now = tonumber(ARGV[2])
local expires = now + tonumber(ARGV[3])
local want = #ARGV - 3
local out = {}
while #out < want do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'state') == 'queued' then
    local token = ARGV[4 + #out]
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'state', 'leased', 'leaseToken', token, 'leaseExpiresAt', expires)
    redis.call('ZADD', KEYS[2], expires, id)
    taskEvent(key, now, 'delivered', attempts)
    local f = redis.call('HMGET', key, 'jws', 'claims')
    out[#out + 1] = {id, attempts, token, f[1] or '', f[2] or ''}
  end
end
local cancelled = redis.call('SMEMBERS', KEYS[3])
if #cancelled > 0 then redis.call('DEL', KEYS[3]) end
return {expires, out, cancelled}
`);

/** Leases up to `tokens.length` ready tasks, and takes the runner's pending cancels (task ids). */
export async function leaseReadyTasks(redis: Redis, ks: KeySpace, runnerId: string, tokens: readonly string[], now: number, leaseMs: number): Promise<{ leased: LeasedTask[]; cancelled: string[] }> {
  if (tokens.length === 0) return { leased: [], cancelled: [] };
  const reply = (await LEASE.run(redis, [ks.ready(runnerId), ks.leases, ks.runnerCancels(runnerId)], [ks.taskPrefix, now, leaseMs, ...tokens])) as [number, [string, number, string, string, string][], string[]?];
  const [expires, rows, cancelled] = reply;
  return { cancelled: cancelled ?? [], leased: rows.map(([taskId, attempt, leaseToken, signedTask, claims]) => ({
    taskId,
    attempt: Number(attempt),
    leaseToken,
    leaseExpiresAt: Number(expires),
    signedTask,
    ...(claims ? { claims: JSON.parse(claims) as UnsignedTaskClaims } : {}),
  })) };
}

export type HeartbeatStatus = 'ok' | 'stale' | 'final' | 'unknown';

// KEYS: leases, runner ready list. ARGV: task key prefix, now, leaseMs, runner id, then task id /
// token pairs. A current token whose task the sweeper already requeued (not yet redelivered)
// takes the task back: the runner is alive and still working on it, so a second run is avoided.
// Cancelled tasks are `final` and also listed (whatever the token) so the runner stops them.
const HEARTBEAT = new LuaScript(`
local now = tonumber(ARGV[2])
local expires = now + tonumber(ARGV[3])
local out = {}
local cancelled = {}
for i = 5, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'runnerId', 'state', 'leaseToken')
  local status
  if f[1] ~= ARGV[4] then status = 'unknown'
  elseif f[2] == 'cancelled' then
    status = 'final'
    cancelled[#cancelled + 1] = id
  elseif f[2] == 'succeeded' or f[2] == 'failed' then status = 'final'
  elseif f[3] ~= token then status = 'stale'
  else
    if f[2] == 'queued' then redis.call('LREM', KEYS[2], 0, id) end
    redis.call('HSET', key, 'state', 'leased', 'leaseExpiresAt', expires)
    redis.call('ZADD', KEYS[1], expires, id)
    status = 'ok'
  end
  out[#out + 1] = status
end
return {expires, out, cancelled}
`);

export interface HeartbeatResult {
  taskId: string;
  status: HeartbeatStatus;
  leaseExpiresAt?: number;
}

/** One round trip for the whole batch; `cancelled` (only when any): the heartbeated tasks a user cancelled. */
export async function heartbeatLeases(redis: Redis, ks: KeySpace, runnerId: string, leases: readonly { taskId: string; leaseToken: string }[], now: number, leaseMs: number): Promise<{ leases: HeartbeatResult[]; cancelled?: string[] }> {
  if (leases.length === 0) return { leases: [] };
  const args = leases.flatMap((l) => [l.taskId, l.leaseToken]);
  const [expires, statuses, cancelled] = (await HEARTBEAT.run(redis, [ks.leases, ks.ready(runnerId)], [ks.taskPrefix, now, leaseMs, runnerId, ...args])) as [number, HeartbeatStatus[], string[]?];
  const results = leases.map((l, i): HeartbeatResult => {
    const status = statuses[i] ?? 'unknown';
    return status === 'ok' ? { taskId: l.taskId, status, leaseExpiresAt: Number(expires) } : { taskId: l.taskId, status };
  });
  return cancelled && cancelled.length > 0 ? { leases: results, cancelled } : { leases: results };
}

// KEYS: leases. ARGV: task key prefix, now, leaseMs. Every lease gets at least one full lease
// period from now, never less than it had.
const EXTEND_ALL = new LuaScript(`
local now = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local id = entries[i]
  local expires = math.max(tonumber(entries[i + 1]), now) + leaseMs
  redis.call('ZADD', KEYS[1], expires, id)
  redis.call('HSET', ARGV[1] .. id, 'leaseExpiresAt', expires)
end
return #entries / 2
`);

/**
 * Called on start: no runner could heartbeat while the control plane was down, so expiring
 * their leases now would redeliver work that is still running.
 */
export async function extendAllLeases(redis: Redis, ks: KeySpace, now: number, leaseMs: number): Promise<number> {
  return Number(await EXTEND_ALL.run(redis, [ks.leases], [ks.taskPrefix, now, leaseMs]));
}
