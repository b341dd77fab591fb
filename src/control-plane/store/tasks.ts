/**
 * Tasks: one hash per task (`task:<id>`), queued on its runner's ready list.
 *
 * `enqueueSignedTask` is deliberately separate from signing: the submit route signs and then
 * calls it, and end-to-end tests call it directly to hand a runner a forged or tampered JWS.
 */
import type { Redis } from 'ioredis';
import { taskOutcomeSchema, taskStateSchema, type TaskOutcome, type TaskState } from '../../contracts/task.js';
import type { TaskView } from '../../contracts/tasks-api.js';
import type { UnsignedTaskClaims } from '../../crypto/task-signature.js';
import { keySpace, type KeySpace } from './key-space.js';
import { LuaScript } from './lua-script.js';
import { TASK_EVENT_LUA } from './task-events.js';

export interface SignedTaskToEnqueue {
  taskId: string;
  runnerId: string;
  orgId: string;
  action: string;
  /** The compact JWS handed to the runner as is on first delivery. */
  signedTask: string;
  /**
   * The claims the JWS was signed from. Only tasks the control plane signed itself carry them,
   * and only those are re-signed (fresh expiry) on redelivery; a forged JWS enqueued without
   * claims is redelivered unchanged, so it never turns into a validly signed task.
   */
  claims?: UnsignedTaskClaims;
  /** Creation time (ms); defaults to now. */
  now?: number;
}

export interface TaskRecord extends TaskView {
  signedTask: string;
  claims?: UnsignedTaskClaims;
  leaseToken?: string;
  leaseExpiresAt?: number;
}

// KEYS: task, runner ready list, leases. ARGV: id, runnerId, orgId, action, jws, claims ('' = none), now, ready channel.
// Re-enqueueing a task that is not final makes it queued again (like a lease expiry: the current
// lease token stays valid until a new delivery replaces it).
const ENQUEUE = new LuaScript(`${TASK_EVENT_LUA}
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'succeeded' or state == 'failed' then return 'final' end
local owner = redis.call('HGET', KEYS[1], 'runnerId')
if owner and owner ~= ARGV[2] then return 'other_runner' end
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[7])
redis.call('HSETNX', KEYS[1], 'attempts', 0)
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'runnerId', ARGV[2], 'orgId', ARGV[3], 'action', ARGV[4], 'jws', ARGV[5], 'state', 'queued')
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'claims', ARGV[6]) else redis.call('HDEL', KEYS[1], 'claims') end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[8], ARGV[2])
taskEvent(KEYS[1], ARGV[7], 'submitted')
return 'ok'
`);

/**
 * Stores the signed task, pushes its id on the runner's ready list and wakes the runner's
 * waiting dequeue calls (PUBLISH on the ready channel), all in one atomic step.
 */
export async function enqueueSignedTask(redis: Redis, keyPrefix: string, task: SignedTaskToEnqueue): Promise<void> {
  const ks = keySpace(keyPrefix);
  const result = await ENQUEUE.run(redis, [ks.task(task.taskId), ks.ready(task.runnerId), ks.leases], [
    task.taskId, task.runnerId, task.orgId, task.action, task.signedTask,
    task.claims ? JSON.stringify(task.claims) : '', task.now ?? Date.now(), ks.readyChannel,
  ]);
  if (result !== 'ok') throw new Error(`cannot enqueue task ${task.taskId}: ${String(result)}`);
}

export async function getTask(redis: Redis, ks: KeySpace, taskId: string): Promise<TaskRecord | undefined> {
  const h = await redis.hgetall(ks.task(taskId));
  if (!h['id'] || !h['runnerId'] || !h['orgId']) return undefined;
  const state: TaskState = taskStateSchema.catch('queued').parse(h['state']);
  const outcome: TaskOutcome | undefined = h['outcome'] ? taskOutcomeSchema.parse(JSON.parse(h['outcome'])) : undefined;
  return {
    id: h['id'],
    runnerId: h['runnerId'],
    orgId: h['orgId'],
    action: h['action'] ?? '',
    state,
    attempts: Number(h['attempts'] ?? 0),
    createdAt: Number(h['createdAt'] ?? 0),
    ...(h['finishedAt'] ? { finishedAt: Number(h['finishedAt']) } : {}),
    ...(outcome ? { outcome } : {}),
    signedTask: h['jws'] ?? '',
    ...(h['claims'] ? { claims: JSON.parse(h['claims']) as UnsignedTaskClaims } : {}),
    ...(h['leaseToken'] ? { leaseToken: h['leaseToken'] } : {}),
    ...(h['leaseExpiresAt'] ? { leaseExpiresAt: Number(h['leaseExpiresAt']) } : {}),
  };
}

export function toTaskView(t: TaskRecord): TaskView {
  return {
    id: t.id,
    runnerId: t.runnerId,
    orgId: t.orgId,
    action: t.action,
    state: t.state,
    attempts: t.attempts,
    createdAt: t.createdAt,
    ...(t.finishedAt !== undefined ? { finishedAt: t.finishedAt } : {}),
    ...(t.outcome ? { outcome: t.outcome } : {}),
  };
}

export function isFinal(state: TaskState): boolean {
  return state === 'succeeded' || state === 'failed';
}
