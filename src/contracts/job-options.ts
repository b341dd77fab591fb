/**
 * BullMQ job options for the two queues between the runner and the workers. The runner adds the
 * jobs, but retries happen in the workers, so the retry policy lives here as data: a worker
 * throws a plain Error for a retryable failure (BullMQ retries with exponential backoff) and
 * only while attempts remain; the last attempt's outcome is final and goes to `results`.
 */
import type { JobsOptions } from 'bullmq';

export const TASK_JOB_NAME = 'task';
export const RESULT_JOB_NAME = 'result';

export interface TaskRetryPolicy {
  /** Runs of a task before a retryable failure becomes final (config `maxAttempts`). */
  maxAttempts: number;
  /** First retry delay; doubles each attempt (config `retryBackoffMs`). */
  retryBackoffMs: number;
}

/**
 * Options for `tasks.add(TASK_JOB_NAME, data, taskJobOptions(policy, taskId))`. The job id is the
 * task id, so a redelivery of a task still queued or running is not run twice at once. (BullMQ
 * refuses custom ids that are integers or contain ':'.)
 */
export function taskJobOptions(policy: TaskRetryPolicy, taskId: string): JobsOptions {
  return {
    jobId: taskId,
    attempts: policy.maxAttempts,
    backoff: { type: 'exponential', delay: policy.retryBackoffMs },
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 86_400 },
  };
}

/**
 * Options for `results.add(RESULT_JOB_NAME, {taskId, outcome}, resultJobOptions(taskId))`. Job id =
 * task id: a second final outcome for the same task (a re-run after a crash) is deduplicated by
 * BullMQ while the first is kept. The publisher retries on its own; no BullMQ attempts here.
 */
export function resultJobOptions(taskId: string): JobsOptions {
  return {
    jobId: taskId,
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 86_400 },
  };
}
