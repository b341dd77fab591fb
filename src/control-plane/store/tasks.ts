/**
 * Tasks: one hash per task (`task:<id>`), queued on its runner's ready list.
 *
 * `submitSignedTask` is what the submit route uses: task, ready list, wake-up, the admin indexes
 * and the idempotency record in ONE script, so a failed submission stored nothing and a stored one
 * is whole. `enqueueSignedTask` is deliberately separate from signing and indexing: end-to-end
 * tests call it directly to hand a runner a forged or tampered JWS.
 */
import type { Redis } from '../../lib/redis-connection.js';
import { FINAL_TASK_STATES, taskOutcomeSchema, taskStateSchema, type TaskOutcome, type TaskState } from '../../contracts/task.js';
import type { TaskView } from '../../contracts/tasks-api.js';
import type { UnsignedTaskClaims } from '../../crypto/task-signature.js';
import { accessKeySpace } from './access-key-space.js';
import { keySpace, type KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

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

/**
 * Stores the signed task, pushes its id on the runner's ready list and wakes the runner's
 * waiting dequeue calls (PUBLISH on the ready channel), all in one atomic step.
 */
export async function enqueueSignedTask(redis: Redis, keyPrefix: string, task: SignedTaskToEnqueue): Promise<void> {
  const ks = keySpace(keyPrefix);
  const result = await runLuaScript(
    redis,
    'task-enqueue',
    [ks.task(task.taskId), ks.ready(task.runnerId), ks.leases],
    [
      task.taskId,
      task.runnerId,
      task.orgId,
      task.action,
      task.signedTask,
      task.claims ? JSON.stringify(task.claims) : '',
      task.now ?? Date.now(),
      ks.readyChannel,
    ],
  );
  if (result !== 'ok') throw new Error(`cannot enqueue task ${task.taskId}: ${String(result)}`);
}

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
  const result = await runLuaScript(
    redis,
    'task-submit',
    [
      taskKey,
      ks.ready(task.runnerId),
      aks.runnerTasks(task.runnerId),
      task.connectionId !== undefined ? aks.connectionTasks(task.connectionId) : taskKey,
      task.idempotency ? task.idempotency.recordKey : taskKey,
    ],
    [
      task.taskId,
      task.runnerId,
      task.orgId,
      task.action,
      task.signedTask,
      JSON.stringify(task.claims),
      task.now ?? Date.now(),
      ks.readyChannel,
      task.indexKept,
      task.connectionId !== undefined ? '1' : '0',
      task.idempotency ? '1' : '0',
      task.idempotency?.fingerprint ?? '',
      task.idempotency?.windowMs ?? 0,
    ],
  );
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
