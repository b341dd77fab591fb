/**
 * Submitting a task: sign the claims, then store it in ONE atomic script (task + ready list +
 * wake-up + admin indexes + idempotency record; store/tasks.ts submitSignedTask). The route
 * resolves the runner and connection and checks access first.
 *
 * With an `Idempotency-Key` the script first looks the key up (scoped to the org and the app
 * key's owner, store/idempotency.ts): the same request again returns the task the key created
 * (`replayed`, nothing stored), another request under the same key is refused
 * (PAR_ERR_IDEMPOTENCY_KEY_REUSED). A submission that failed (500) stored nothing; one whose
 * answer was lost may have been stored, and retrying it with the same key returns that task.
 */
import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT } from '@opentelemetry/api';
import type { z } from 'zod';
import type { submitTaskRequestSchema } from '../contracts/tasks-api.js';
import type { ConnectionRef } from '../contracts/task.js';
import type { UnsignedTaskClaims } from '../crypto/task-signature.js';
import { ParError } from '../errors/par-error.js';
import type { ControlPlaneDeps } from './deps.js';
import { idempotencyRecordKey, submissionFingerprint, type IdempotencyScope } from './store/idempotency.js';
import { RUNNER_TASKS_KEPT } from './store/task-index.js';
import { getTask, submitSignedTask, type TaskRecord } from './store/tasks.js';
import { ATTR, SPAN } from '../tracing/attributes.js';
import { formatTraceparent, parTracer } from '../tracing/trace-context.js';

export type ParsedSubmitRequest = z.output<typeof submitTaskRequestSchema>;

export interface SubmitOptions {
  connection?: ConnectionRef | undefined;
  /** The connection id as the request named it (indexes the task under it). */
  connectionId?: string | undefined;
  /** The client's Idempotency-Key (already validated) and whose it is. */
  idempotency?: { key: string; scope: IdempotencyScope } | undefined;
  /** The caller, `<type>:<id>` (signed into the task for the runner's audit log). */
  submittedBy?: string | undefined;
  /**
   * The new task's id (default: a fresh random UUID). A caller that waits for the result picks
   * it first, to arm its waiter before the task is stored (and so before it can finish).
   */
  taskId?: string | undefined;
}

export interface SubmitResult {
  task: TaskRecord;
  /** True when the Idempotency-Key was seen before: `task` is the one it created, nothing new was stored. */
  replayed: boolean;
}

/**
 * Signs and stores a task for a runner the caller already resolved (and was checked against):
 * no lookup is repeated here, and a created record is built from what was just written rather
 * than read back, so a submission costs one signature and one Redis round trip.
 */
export async function submitTask(
  deps: ControlPlaneDeps,
  orgId: string,
  runner: { id: string },
  request: Omit<ParsedSubmitRequest, 'runner' | 'connectionId'>,
  options: SubmitOptions = {},
): Promise<SubmitResult> {
  // The task's trace starts here; its context is signed into the task (claims.traceparent).
  const taskId = options.taskId ?? randomUUID();
  const span = parTracer().startSpan(
    SPAN.submit,
    {
      kind: SpanKind.SERVER,
      attributes: { [ATTR.taskId]: taskId, [ATTR.runnerId]: runner.id, [ATTR.orgId]: orgId, [ATTR.action]: request.action },
    },
    ROOT_CONTEXT,
  );
  try {
    const result = await signAndStore(deps, orgId, runner, request, options, taskId, formatTraceparent(span.spanContext()));
    span.setAttribute(ATTR.replayed, result.replayed);
    if (result.replayed) span.setAttribute(ATTR.taskId, result.task.id);
    return result;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof ParError ? error.code : 'submission failed' });
    if (error instanceof ParError) span.setAttribute(ATTR.errorCode, error.code);
    throw error;
  } finally {
    span.end();
  }
}

async function signAndStore(
  deps: ControlPlaneDeps,
  orgId: string,
  runner: { id: string },
  request: Omit<ParsedSubmitRequest, 'runner' | 'connectionId'>,
  options: SubmitOptions,
  taskId: string,
  traceparent: string | undefined,
): Promise<SubmitResult> {
  const { connection, connectionId, idempotency, submittedBy } = options;
  const claims: UnsignedTaskClaims = {
    sub: taskId,
    aud: runner.id,
    org: orgId,
    action: request.action,
    inputs: request.inputs,
    ...(connection ? { connection } : {}),
    timeoutMs: request.timeoutMs,
    ...(submittedBy ? { submittedBy } : {}),
    ...(traceparent ? { traceparent } : {}),
  };
  const now = deps.now();
  const signedTask = await deps.signer.sign(claims, deps.config.taskTtlMs, now);
  const outcome = await submitSignedTask(deps.redis, deps.ks, {
    taskId,
    runnerId: runner.id,
    orgId,
    action: request.action,
    signedTask,
    claims,
    now,
    connectionId,
    indexKept: RUNNER_TASKS_KEPT,
    idempotency: idempotency && {
      recordKey: idempotencyRecordKey(deps.ks, idempotency.scope, idempotency.key),
      fingerprint: submissionFingerprint({
        runnerId: runner.id,
        action: request.action,
        inputs: request.inputs,
        connectionId,
        timeoutMs: request.timeoutMs,
      }),
      windowMs: deps.config.idempotencyWindowMs,
    },
  });
  if (outcome.status === 'reused') {
    throw new ParError(
      'PAR_ERR_IDEMPOTENCY_KEY_REUSED',
      `it created task ${outcome.taskId} from another request; send a new key for a new task`,
    );
  }
  if (outcome.status === 'replayed') {
    const existing = await getTask(deps.redis, deps.ks, outcome.taskId);
    if (!existing) throw new Error(`the idempotency record names task ${outcome.taskId}, which is not stored`);
    deps.metrics.submitted.inc({ replayed: 'true' });
    return { task: existing, replayed: true };
  }
  // A fresh id: the submit script created the task queued, with no delivery yet (and published
  // the runner's wake-up; a poll parked on this process is woken without waiting for it).
  deps.metrics.submitted.inc({ replayed: 'false' });
  deps.wakeups.wakeRunner(runner.id);
  return {
    task: {
      id: taskId,
      runnerId: runner.id,
      orgId,
      action: request.action,
      state: 'queued',
      attempts: 0,
      createdAt: now,
      signedTask,
      claims,
    },
    replayed: false,
  };
}
