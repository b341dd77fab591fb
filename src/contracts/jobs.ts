/**
 * The contract between the runner and the workers on the runner's Redis (BullMQ).
 *
 * Queue `tasks`: one job per accepted task, job id = task id, so a redelivery of a task that is
 * still queued or running is not run twice at the same time. The job carries the task as the
 * runner verified it (the signed claims, flattened) as one JSON text and an HMAC tag over it,
 * keyed from the runner identity (src/crypto/task-job-tag.ts): the queue is not trusted, so
 * workers check the tag and act only on the tagged payload. The JWS itself is not queued.
 *
 * Queue `results`: the durable outbox. One job per finished task (job id = task id); the runner
 * publishes it to the control plane, retrying until the control plane answers.
 *
 * Redis hash `<prefix>:<runnerId>:leases`: task id -> current lease token. The runner writes it
 * on every delivery and reads it when publishing, so a result is always published under the
 * newest lease, even one handed out after the job started.
 */
import type { TaskOutcome, VerifiedTask } from './task.js';

export const TASKS_QUEUE = 'tasks';
export const RESULTS_QUEUE = 'results';

/** What a worker acts on: the `payload` of a `tasks` job, as one JSON text covered by the job's tag. */
export interface TaskJobPayload {
  taskId: string;
  /** The claims of the signed task the runner verified (task id = `taskId`). */
  task: VerifiedTask;
  /** Delivery attempt on the control plane when this job was created (for logs only). */
  deliveryAttempt: number;
  acceptedAt: number;
  /**
   * The runner intake span's W3C trace context (tracing, issue 11): the worker's spans are its
   * children. Used for nothing but tracing.
   */
  traceparent?: string;
}

export interface TaskJobData {
  /** = the job id and the payload's task id (a worker refuses a job where they differ). */
  taskId: string;
  /** JSON of a TaskJobPayload: the exact bytes the tag covers. */
  payload: string;
  /** `<key id>.<HMAC-SHA256>` over `payload` (src/crypto/task-job-tag.ts). */
  tag: string;
}

export interface ResultJobData {
  taskId: string;
  outcome: TaskOutcome;
}

export function leasesKey(prefix: string, runnerId: string): string {
  return `${prefix}:${runnerId}:leases`;
}

/**
 * Cancellation, runner -> workers (both on the runner's Redis). The runner sets the task's marker
 * (`cancelMarkerKey`, with a TTL) and then publishes the task id on `cancelChannel`. A worker
 * running the task aborts it on the message; a worker about to start it reads the marker after
 * BullMQ has registered the job, so a cancel is never missed between the two.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

export function cancelMarkerKey(prefix: string, taskId: string): string {
  return `${prefix}:cancelled:${taskId}`;
}
