/**
 * Wire schemas of the runner-facing API of the control plane (enrollment, long-poll dequeue,
 * batch heartbeat, fenced result publication). Both sides parse with these schemas.
 */
import { z } from 'zod';
import { idSchema } from './ids.js';
import { taskOutcomeSchema } from './task.js';

export const RUNNER_API = {
  enroll: '/api/v1/runners/enroll',
  dequeue: '/api/v1/runner/tasks/dequeue',
  heartbeat: '/api/v1/runner/tasks/heartbeat',
  result: (taskId: string) => `/api/v1/runner/tasks/${encodeURIComponent(taskId)}/result`,
  results: '/api/v1/runner/tasks/results',
  keys: '/api/v1/control-plane/keys',
  health: '/api/v1/runner/health',
} as const;

/** Audience of the runner's request JWTs. */
export const RUNNER_TOKEN_AUDIENCE = 'par-control-plane';
/** `typ` header of the runner's request JWTs (checked when present: runners before it sent none). */
export const RUNNER_TOKEN_TYP = 'par-runner+jwt';
/** Issuer of signed tasks. */
export const TASK_ISSUER = 'par-control-plane';
/** `typ` header of signed tasks (checked: a JWS the control-plane key signed for anything else is no task). */
export const TASK_TYP = 'par-task+jwt';

export const jwkSchema = z.record(z.string(), z.unknown()).and(z.object({ kty: z.string() }));
export const jwksSchema = z.object({ keys: z.array(jwkSchema).min(1) });
export type Jwks = z.infer<typeof jwksSchema>;

export const enrollRequestSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore'),
    publicKey: jwkSchema,
    allowlist: z.array(z.string()).default([]),
    modes: z.array(z.string()).default(['pull']),
    version: z.string().default('unknown'),
  })
  .strict();
export type EnrollRequest = z.input<typeof enrollRequestSchema>;

/**
 * Enrollment with a one-time token (`Authorization: Bearer <token>`, no keys): the token names
 * the runner, so the name is optional (and ignored when it differs).
 */
export const tokenEnrollRequestSchema = enrollRequestSchema.extend({ name: z.string().max(100).optional() });
export type TokenEnrollRequest = z.input<typeof tokenEnrollRequestSchema>;

export const enrollResponseSchema = z.object({
  runnerId: z.string(),
  urn: z.string(),
  orgId: z.string(),
  name: z.string(),
  /** The control plane's task-signing public keys, pinned by the runner. */
  controlPlaneKeys: jwksSchema,
  /** The runner's allowlist as the control plane has it (set when the runner was created from the page or API). */
  allowlist: z.array(z.string()).optional(),
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

/** The runner's periodic health check (`PAR_HEALTH_INTERVAL_MS`); the control plane derives the runner's status from it. */
export const healthReportSchema = z
  .object({
    version: z.string().max(100),
    platform: z.string().max(200),
    allowlist: z.array(z.string().max(300)).max(1000),
    capacity: z.number().int().min(0),
    inFlight: z.number().int().min(0),
    healthy: z.boolean(),
    /** Why the runner is not healthy (Redis unreachable, polls failing...), human-readable, no secrets. */
    problems: z.array(z.string().max(500)).max(20).default([]),
  })
  .strict();
export type HealthReport = z.input<typeof healthReportSchema>;

/**
 * `health`: the runner's health check carried on the poll (recorded in the same Lua step as the
 * lease pass), so an idle runner makes one request per health interval instead of two. Optional:
 * runners of either age interoperate (a runner whose poll is refused for it sends health apart).
 */
export const dequeueRequestSchema = z
  .object({
    max: z.number().int().min(1).max(100).default(10),
    waitMs: z.number().int().min(0).max(60_000).default(20_000),
    health: healthReportSchema.optional(),
  })
  .strict();
export type DequeueRequest = z.input<typeof dequeueRequestSchema>;

export const deliverySchema = z.object({
  taskId: z.string(),
  attempt: z.number().int().positive(),
  leaseToken: z.string(),
  leaseExpiresAt: z.number(),
  signedTask: z.string(),
});
export type Delivery = z.infer<typeof deliverySchema>;

/**
 * `cancelled`: task ids this runner holds that a user cancelled: stop them (heartbeat answers name
 * them too). Optional, so runners and control planes of either age interoperate.
 */
export const dequeueResponseSchema = z.object({ tasks: z.array(deliverySchema), cancelled: z.array(z.string()).optional() });
export type DequeueResponse = z.infer<typeof dequeueResponseSchema>;

export const heartbeatRequestSchema = z
  .object({
    leases: z.array(z.object({ taskId: idSchema, leaseToken: z.string().max(200) }).strict()).max(1000),
  })
  .strict();

/**
 * Per lease: `ok` extended; `stale` superseded by a newer delivery; `final` the task already has a
 * result. `cancelled` names the heartbeated tasks a user cancelled (their status is `final`): the
 * runner stops running them. Optional, so runners and control planes of either age interoperate.
 */
export const heartbeatResponseSchema = z.object({
  leases: z.array(
    z.object({
      taskId: z.string(),
      status: z.enum(['ok', 'stale', 'final', 'unknown']),
      leaseExpiresAt: z.number().optional(),
    }),
  ),
  cancelled: z.array(z.string()).optional(),
});
export type HeartbeatResponse = z.infer<typeof heartbeatResponseSchema>;

/** Strict at the top; the outcome is the worker's own data and stays open to added fields. */
export const publishRequestSchema = z
  .object({
    leaseToken: z.string().max(200),
    outcome: taskOutcomeSchema,
  })
  .strict();

/** `recorded`: this publish set the final result; `duplicate`: a result was already recorded (ack). */
export const publishResponseSchema = z.object({
  status: z.enum(['recorded', 'duplicate']),
});
export type PublishResponse = z.infer<typeof publishResponseSchema>;

/** Most results one batch publish carries. */
export const PUBLISH_BATCH_MAX = 100;

/**
 * Many results in one request (and one Lua call). The task id is any short string here: one that
 * is not a well-formed id answers `not_found` for its item instead of refusing the whole batch.
 */
export const publishBatchRequestSchema = z
  .object({
    results: z
      .array(
        z
          .object({
            taskId: z.string().min(1).max(200),
            leaseToken: z.string().max(200),
            outcome: taskOutcomeSchema,
          })
          .strict(),
      )
      .min(1)
      .max(PUBLISH_BATCH_MAX),
  })
  .strict();
export type PublishBatchItem = z.infer<typeof publishBatchRequestSchema>['results'][number];

/**
 * One answer per item, in order, with the single route's meaning: `recorded`, `duplicate` (ack);
 * `stale` (code PAR_ERR_LEASE_STALE, the single route's 409) and `not_found` (PAR_ERR_NOT_FOUND,
 * its 404: unknown, or not this runner's task).
 */
export const publishBatchResponseSchema = z.object({
  results: z.array(
    z.object({
      taskId: z.string(),
      status: z.enum(['recorded', 'duplicate', 'stale', 'not_found']),
      code: z.enum(['PAR_ERR_LEASE_STALE', 'PAR_ERR_NOT_FOUND']).optional(),
    }),
  ),
});
export type PublishBatchResponse = z.infer<typeof publishBatchResponseSchema>;

export const healthResponseSchema = z.object({ receivedAt: z.number() });
export type HealthResponse = z.infer<typeof healthResponseSchema>;
