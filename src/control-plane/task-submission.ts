/**
 * Submitting a task: sign the claims, then enqueue (store + ready list + wake-up in one atomic
 * step). The route resolves the runner and connection and checks access first.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { submitTaskRequestSchema } from '../contracts/tasks-api.js';
import type { ConnectionRef } from '../contracts/task.js';
import type { UnsignedTaskClaims } from '../crypto/task-signature.js';
import type { ControlPlaneDeps } from './deps.js';
import { enqueueSignedTask, type TaskRecord } from './store/tasks.js';

export type ParsedSubmitRequest = z.output<typeof submitTaskRequestSchema>;

/**
 * Signs and enqueues a task for a runner the caller already resolved (and was checked against):
 * no lookup is repeated here, and the record is built from what was just written rather than
 * read back, so a submission costs one signature and one Redis round trip.
 */
export async function submitTask(
  deps: ControlPlaneDeps,
  orgId: string,
  runner: { id: string },
  request: Omit<ParsedSubmitRequest, 'runner' | 'connectionId'>,
  connection?: ConnectionRef,
  /** The caller, `<type>:<id>` (signed into the task for the runner's audit log). */
  submittedBy?: string,
): Promise<TaskRecord> {
  const taskId = randomUUID();
  const claims: UnsignedTaskClaims = {
    sub: taskId,
    aud: runner.id,
    org: orgId,
    action: request.action,
    inputs: request.inputs,
    ...(connection ? { connection } : {}),
    timeoutMs: request.timeoutMs,
    ...(submittedBy ? { submittedBy } : {}),
  };
  const now = deps.now();
  const signedTask = await deps.signer.sign(claims, deps.config.taskTtlMs, now);
  await enqueueSignedTask(deps.redis, deps.config.keyPrefix, { taskId, runnerId: runner.id, orgId, action: request.action, signedTask, claims, now });
  // A fresh id: the enqueue script created the task queued, with no delivery yet.
  return { id: taskId, runnerId: runner.id, orgId, action: request.action, state: 'queued', attempts: 0, createdAt: now, signedTask, claims };
}
