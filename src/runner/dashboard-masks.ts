/**
 * What bull-board shows of a job's data: never a task's inputs, its signature or the signed JWS,
 * nor a result's output or error message (an HTTP error quotes the response body). The task id,
 * the action FQN (read from the JWS payload, not verified: display only) and masked placeholders
 * stand in for them. Installed as the adapters' `data` and `returnValue` formatters.
 */
import type { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { RESULTS_QUEUE, TASKS_QUEUE } from '../contracts/jobs.js';

export const MASKED = '[masked]';

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The `action` claim of a compact JWS, or undefined; never throws. */
export function actionOfJws(jws: unknown): string | undefined {
  if (typeof jws !== 'string') return undefined;
  const payload = jws.split('.')[1];
  if (!payload) return undefined;
  try {
    const action = record(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')))['action'];
    return typeof action === 'string' ? action.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/** The `tasks` queue's job data as the dashboard shows it. */
export function maskTaskJobData(data: unknown): Record<string, unknown> {
  const d = record(data);
  return {
    taskId: typeof d['taskId'] === 'string' ? d['taskId'] : undefined,
    action: actionOfJws(d['signedTask']),
    deliveryAttempt: typeof d['deliveryAttempt'] === 'number' ? d['deliveryAttempt'] : undefined,
    acceptedAt: typeof d['acceptedAt'] === 'number' ? d['acceptedAt'] : undefined,
    inputs: MASKED,
    signedTask: MASKED,
  };
}

/** The `results` queue's job data: outcome kind, error code, counts; output and message masked. */
export function maskResultJobData(data: unknown): Record<string, unknown> {
  const d = record(data);
  const outcome = record(d['outcome']);
  const error = record(outcome['error']);
  return {
    taskId: typeof d['taskId'] === 'string' ? d['taskId'] : undefined,
    outcome: {
      kind: outcome['kind'],
      ...('output' in outcome ? { output: MASKED } : {}),
      ...(outcome['error'] ? { error: { code: error['code'], retryable: error['retryable'], message: MASKED } } : {}),
      attempts: outcome['attempts'],
      durationMs: outcome['durationMs'],
    },
  };
}

/** Sets the masking formatters on an adapter of one of the runner's queues (by queue name). */
export function installDashboardMasks(adapter: BullMQAdapter, queueName: string): BullMQAdapter {
  if (queueName === TASKS_QUEUE) adapter.setFormatter('data', maskTaskJobData);
  else if (queueName === RESULTS_QUEUE) adapter.setFormatter('data', maskResultJobData);
  // Any other queue: show no data at all rather than guess what it holds.
  else adapter.setFormatter('data', () => MASKED);
  // Task jobs return only the outcome kind (workers/task-processor.ts); keep just that.
  adapter.setFormatter('returnValue', (value: unknown) => {
    const kind = record(value)['kind'];
    return typeof kind === 'string' ? { kind } : value === undefined || value === null ? value : MASKED;
  });
  return adapter;
}
