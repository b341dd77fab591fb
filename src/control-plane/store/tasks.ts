/**
 * Tasks: one hash per task (`task:<id>`), queued on its runner's ready list.
 *
 * `submitSignedTask` is what the submit route uses: task, ready list, wake-up, the admin indexes
 * and the idempotency record in ONE script, so a failed submission stored nothing and a stored one
 * is whole. `enqueueSignedTask` is deliberately separate from signing and indexing: end-to-end
 * tests call it directly to hand a runner a forged or tampered JWS.
 */
import type { Redis } from 'ioredis';
import { FINAL_TASK_STATES, taskOutcomeSchema, taskStateSchema, type TaskOutcome, type TaskState } from '../../contracts/task.js';
import type { TaskView } from '../../contracts/tasks-api.js';
import type { UnsignedTaskClaims } from '../../crypto/task-signature.js';
import { accessKeySpace } from './access-key-space.js';
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
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then return 'final' end
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

// KEYS: task, runner ready list, runner task index, connection task index (or the task key again
// when there is no connection), idempotency record (or the task key again when there is no key).
// ARGV: id, runnerId, orgId, action, jws, claims ('' = none), now, ready channel, index size kept,
// has connection ('1'/'0'), has key ('1'/'0'), request fingerprint, idempotency window (ms).
// Every read and check comes before the first write, and no write can fail on types (the keys
// are ours), so the script stores everything or nothing (Redis does not roll a script back).
const SUBMIT = new LuaScript(`${TASK_EVENT_LUA}
if ARGV[11] == '1' then
  local existing = redis.call('HGET', KEYS[5], 'taskId')
  if existing then
    if redis.call('HGET', KEYS[5], 'fingerprint') ~= ARGV[12] then return {'reused', existing} end
    return {'replayed', existing}
  end
end
-- The same submission sent again by the client library after a reconnect: already stored.
if redis.call('EXISTS', KEYS[1]) == 1 then return {'created', ARGV[1]} end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'runnerId', ARGV[2], 'orgId', ARGV[3], 'action', ARGV[4], 'jws', ARGV[5], 'state', 'queued', 'createdAt', ARGV[7], 'attempts', 0)
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'claims', ARGV[6]) end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[9]) + 1))
if ARGV[10] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
if ARGV[11] == '1' then
  redis.call('HSET', KEYS[5], 'taskId', ARGV[1], 'fingerprint', ARGV[12])
  redis.call('PEXPIRE', KEYS[5], ARGV[13])
end
taskEvent(KEYS[1], ARGV[7], 'submitted')
redis.call('PUBLISH', ARGV[8], ARGV[2])
return {'created', ARGV[1]}
`);

export interface TaskSubmission extends SignedTaskToEnqueue {
  claims: UnsignedTaskClaims;
  connectionId?: string | undefined;
  /** How many of the runner's newest task ids the admin index keeps. */
  indexKept: number;
  /** The idempotency record to check and write, when the client sent a key. */
  idempotency?: { recordKey: string; fingerprint: string; windowMs: number } | undefined;
}

export type SubmitOutcome =
  | { status: 'created'; taskId: string }
  /** The key was used before for the same request: its task, nothing new stored. */
  | { status: 'replayed'; taskId: string }
  /** The key was used before for another request: nothing stored. */
  | { status: 'reused'; taskId: string };

/**
 * Stores a signed task, queues it for its runner, wakes the runner, indexes it (runner,
 * connection) and records its idempotency key, all in one atomic script; or, when the key
 * was seen before, stores nothing and names the task it created.
 */
export async function submitSignedTask(redis: Redis, ks: KeySpace, task: TaskSubmission): Promise<SubmitOutcome> {
  const aks = accessKeySpace(ks);
  const taskKey = ks.task(task.taskId);
  const result = await SUBMIT.run(redis, [
    taskKey, ks.ready(task.runnerId), aks.runnerTasks(task.runnerId),
    task.connectionId !== undefined ? aks.connectionTasks(task.connectionId) : taskKey,
    task.idempotency ? task.idempotency.recordKey : taskKey,
  ], [
    task.taskId, task.runnerId, task.orgId, task.action, task.signedTask, JSON.stringify(task.claims), task.now ?? Date.now(), ks.readyChannel,
    task.indexKept, task.connectionId !== undefined ? '1' : '0', task.idempotency ? '1' : '0', task.idempotency?.fingerprint ?? '', task.idempotency?.windowMs ?? 0,
  ]);
  if (!Array.isArray(result) || typeof result[1] !== 'string' || !['created', 'replayed', 'reused'].includes(String(result[0]))) {
    throw new Error(`unexpected answer of the submit script for task ${task.taskId}: ${JSON.stringify(result)}`);
  }
  return { status: result[0] as SubmitOutcome['status'], taskId: result[1] };
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
  return FINAL_TASK_STATES.includes(state);
}
