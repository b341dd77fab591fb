/** Wire schemas of the user-facing task API (submit a task, read its status and result). */
import { z } from 'zod';
import { idSchema } from './ids.js';
import { actionFqnSchema, taskInputsSchema, taskOutcomeSchema, taskStateSchema } from './task.js';

export const TASKS_API = {
  submit: '/api/v1/tasks',
  get: (taskId: string) => `/api/v1/tasks/${encodeURIComponent(taskId)}`,
  cancel: (taskId: string) => `/api/v1/tasks/${encodeURIComponent(taskId)}/cancel`,
  runners: '/api/v1/runners',
} as const;

export const submitTaskRequestSchema = z
  .object({
    /** Runner id, or runner name within the caller's org. */
    runner: idSchema,
    action: actionFqnSchema,
    inputs: taskInputsSchema.default({}),
    connectionId: idSchema.optional(),
    timeoutMs: z.number().int().min(1).max(3_600_000).default(60_000),
  })
  .strict();
export type SubmitTaskRequest = z.input<typeof submitTaskRequestSchema>;

export const taskViewSchema = z.object({
  id: z.string(),
  runnerId: z.string(),
  orgId: z.string(),
  action: z.string(),
  state: taskStateSchema,
  attempts: z.number().int(),
  createdAt: z.number(),
  finishedAt: z.number().optional(),
  outcome: taskOutcomeSchema.optional(),
});
export type TaskView = z.infer<typeof taskViewSchema>;

export const runnerViewSchema = z.object({
  id: z.string(),
  urn: z.string(),
  name: z.string(),
  orgId: z.string(),
  allowlist: z.array(z.string()),
  modes: z.array(z.string()),
  version: z.string(),
  createdAt: z.number(),
  lastSeenAt: z.number().optional(),
});
export type RunnerView = z.infer<typeof runnerViewSchema>;

/**
 * A task's history, as the control plane saw it. `result.recorded` appears at most once per
 * task: that is the exactly-once reporting guarantee, visible to users and tests. A task's final
 * result is set by exactly one of `result.recorded`, `cancelled`, `failed.lease_expired`,
 * `failed.runner_deleted`. `cancelled`: a user cancelled it (its result); `cancel.confirmed`: the
 * runner later reported the run it stopped as cancelled (recorded nothing).
 */
export const taskEventTypeSchema = z.enum([
  'submitted',
  'delivered',
  'lease.expired',
  'result.recorded',
  'result.duplicate',
  'result.stale',
  'failed.lease_expired',
  'failed.runner_deleted',
  'cancelled',
  'cancel.confirmed',
]);
export const taskEventSchema = z.object({
  at: z.number(),
  type: taskEventTypeSchema,
  attempt: z.number().int().optional(),
});
export type TaskEvent = z.infer<typeof taskEventSchema>;
export const taskEventsResponseSchema = z.object({ events: z.array(taskEventSchema) });
export const taskEventsPath = (taskId: string): string => `/api/v1/tasks/${encodeURIComponent(taskId)}/events`;
