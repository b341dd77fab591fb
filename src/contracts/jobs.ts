/**
 * The contract between the runner and the workers on the runner's Redis (BullMQ).
 *
 * Queue `tasks`: one job per accepted task, job id = task id, so a redelivery of a task that is
 * still queued or running is not run twice at the same time. The job carries the raw signed
 * task; workers verify it again and act only on its claims (the queue is not trusted).
 *
 * Queue `results`: the durable outbox. One job per finished task (job id = task id); the runner
 * publishes it to the control plane, retrying until the control plane answers.
 *
 * Redis hash `<prefix>:<runnerId>:leases`: task id -> current lease token. The runner writes it
 * on every delivery and reads it when publishing, so a result is always published under the
 * newest lease, even one handed out after the job started.
 */
import type { TaskOutcome } from './task.js';

export const TASKS_QUEUE = 'tasks';
export const RESULTS_QUEUE = 'results';

export interface TaskJobData {
  taskId: string;
  signedTask: string;
  /** Delivery attempt on the control plane when this job was created (for logs only). */
  deliveryAttempt: number;
  acceptedAt: number;
  /**
   * The runner intake span's W3C trace context (tracing, issue 11): the worker's spans are its
   * children. Unsigned like the rest of the job: used for nothing but tracing.
   */
  traceparent?: string;
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
