/**
 * What bull-board shows of a job's data: never a task's payload (inputs, connection), nor a
 * result's output or error message (an HTTP error quotes the response body). The task id,
 * the action FQN (read from the payload, not checked against its tag: display only) and masked placeholders
 * stand in for them. Installed as the adapters' `data` and `returnValue` formatters.
 */
import type { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { RESULTS_QUEUE, TASKS_QUEUE } from '../contracts/jobs.js';

export const MASKED = '[masked]';

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The parsed payload of a `tasks` job (a JSON text), or {}; never throws. */
function payloadOf(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'string') return {};
  try {
    return record(JSON.parse(payload));
  } catch {
    return {};
  }
}

/** The `tasks` queue's job data as the dashboard shows it. */
export function maskTaskJobData(data: unknown): Record<string, unknown> {
  const d = record(data);
  const p = payloadOf(d['payload']);
  const action = record(p['task'])['action'];
  return {
    taskId: typeof d['taskId'] === 'string' ? d['taskId'] : undefined,
    action: typeof action === 'string' ? action.slice(0, 200) : undefined,
    deliveryAttempt: typeof p['deliveryAttempt'] === 'number' ? p['deliveryAttempt'] : undefined,
    acceptedAt: typeof p['acceptedAt'] === 'number' ? p['acceptedAt'] : undefined,
    payload: MASKED,
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
