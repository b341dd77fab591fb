/**
 * Glossary
 * - task: one action run requested through the control plane for one runner.
 * - FQN: an action's fully qualified name, as the seed's vendor spells it
 *   (`com.datadoghq.http.request`): `<bundle>.<action>`.
 * - signed task: the JWS the control plane hands out; its claims are the only source of truth
 *   the runner and workers act on.
 * - delivery: one hand-out of a task to a runner, with a lease token that fences its result.
 * - outcome: what running the task produced: a success with output, or a failure with an error.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.js';

export const ACTION_FQN_PATTERN = /^[a-z][a-z0-9]*(\.[a-zA-Z][a-zA-Z0-9]*){2,}$/;
export const actionFqnSchema = z
  .string()
  .regex(ACTION_FQN_PATTERN, 'must be a fully qualified action name like com.datadoghq.http.request');

export const taskInputsSchema = z.record(z.string(), z.unknown());
export type TaskInputs = z.infer<typeof taskInputsSchema>;

/** A reference to a connection, carried in the signed claims: never a secret, only where to look. */
export const connectionRefSchema = z.object({
  id: z.string().min(1),
  integration: z.string().min(1),
  /** Path of the credential file, relative to the runner's config dir. */
  credentialPath: z.string().min(1).optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
});
export type ConnectionRef = z.infer<typeof connectionRefSchema>;

/** The signed claims of a task (JWT claims set; `sub` is the task id, `aud` the runner id). */
export const taskClaimsSchema = z.object({
  iss: z.string(),
  sub: z.string().min(1),
  aud: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
  org: z.string().min(1),
  action: actionFqnSchema,
  inputs: taskInputsSchema,
  connection: connectionRefSchema.optional(),
  timeoutMs: z.number().int().positive(),
  /** Who submitted it (`user:<id>` / `service_account:<id>`), for the runner's audit log. Optional: older control planes omit it. */
  submittedBy: z.string().min(1).max(200).optional(),
  /**
   * W3C trace context of the submission (tracing, issue 11), so the runner's and workers' spans
   * join the submission's trace. Optional: older control planes, and control planes that do not
   * trace, omit it. Used for nothing but tracing; a malformed one is ignored, not refused.
   */
  traceparent: z.string().max(256).optional().catch(undefined),
});
export type TaskClaims = z.infer<typeof taskClaimsSchema>;

/** The verified task a worker runs: the claims, flattened to the names the code uses. */
export interface VerifiedTask {
  taskId: string;
  runnerId: string;
  orgId: string;
  action: string;
  inputs: TaskInputs;
  connection?: ConnectionRef;
  timeoutMs: number;
  expiresAt: number;
  /** The submission's trace context (tracing only, see taskClaimsSchema). */
  traceparent?: string;
}

export function claimsToTask(claims: TaskClaims): VerifiedTask {
  return {
    taskId: claims.sub,
    runnerId: claims.aud,
    orgId: claims.org,
    action: claims.action,
    inputs: claims.inputs,
    ...(claims.connection ? { connection: claims.connection } : {}),
    timeoutMs: claims.timeoutMs,
    expiresAt: claims.exp * 1000,
    ...(claims.traceparent ? { traceparent: claims.traceparent } : {}),
  };
}

const errorCodeSchema = z.string().refine((v): v is ErrorCode => Object.hasOwn(ERROR_CODES, v), 'unknown error code');

export const errorBodySchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  retryable: z.boolean(),
});

/** The terminal classification of a run (the task lifecycle machine's final states). */
export const outcomeKindSchema = z.enum(['succeeded', 'failed', 'timedOut', 'cancelled', 'rejected']);
export type OutcomeKind = z.infer<typeof outcomeKindSchema>;

export const taskOutcomeSchema = z.object({
  kind: outcomeKindSchema,
  output: z.unknown().optional(),
  error: errorBodySchema.optional(),
  attempts: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
  /** How many credential values (in any of their forms) the worker replaced with "[redacted]". */
  redactions: z.number().int().nonnegative().optional(),
});
export type TaskOutcome = z.infer<typeof taskOutcomeSchema>;

/** Task states as the control plane records them; `cancelled`: a user cancelled it before it had a result. */
export const taskStateSchema = z.enum(['queued', 'leased', 'succeeded', 'failed', 'cancelled']);
export type TaskState = z.infer<typeof taskStateSchema>;
export const FINAL_TASK_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled'];
