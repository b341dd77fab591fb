/**
 * Submitting a task: resolve the runner (id or name in the caller's org) and the connection,
 * sign the claims, then enqueue (store + ready list + wake-up in one atomic step).
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { submitTaskRequestSchema } from '../contracts/tasks-api.js';
import type { ConnectionRef } from '../contracts/task.js';
import type { UnsignedTaskClaims } from '../crypto/task-signature.js';
import { ParError } from '../errors/par-error.js';
import type { ControlPlaneDeps } from './deps.js';
import { findConnection } from './store/connections.js';
import { findRunnerInOrg } from './store/runners.js';
import { enqueueSignedTask, getTask, type TaskRecord } from './store/tasks.js';

export type ParsedSubmitRequest = z.output<typeof submitTaskRequestSchema>;

export async function submitTask(deps: ControlPlaneDeps, orgId: string, request: ParsedSubmitRequest): Promise<TaskRecord> {
  const runner = await findRunnerInOrg(deps.redis, deps.ks, orgId, request.runner);
  if (!runner) throw new ParError('PAR_ERR_NOT_FOUND', `runner ${request.runner}`);
  let connection: ConnectionRef | undefined;
  if (request.connectionId !== undefined) {
    connection = await findConnection(deps.redis, deps.ks, orgId, request.connectionId);
    if (!connection) throw new ParError('PAR_ERR_NOT_FOUND', `connection ${request.connectionId}`);
  }
  const taskId = randomUUID();
  const claims: UnsignedTaskClaims = {
    sub: taskId,
    aud: runner.id,
    org: orgId,
    action: request.action,
    inputs: request.inputs,
    ...(connection ? { connection } : {}),
    timeoutMs: request.timeoutMs,
  };
  const now = deps.now();
  const signedTask = await deps.signer.sign(claims, deps.config.taskTtlMs, now);
  await enqueueSignedTask(deps.redis, deps.config.keyPrefix, { taskId, runnerId: runner.id, orgId, action: request.action, signedTask, claims, now });
  const stored = await getTask(deps.redis, deps.ks, taskId);
  if (!stored) throw new ParError('PAR_ERR_INTERNAL', `task ${taskId} vanished after enqueue`);
  return stored;
}
