/**
 * A worker's Prometheus metrics, in its own prom-client Registry, served on its own small port
 * when PAR_WORKER_METRICS_PORT is set (metrics-server.ts). Everything is counted in memory by the
 * task processor; nothing here touches Redis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Action run time, seconds: from sub-second HTTP calls to hour-long scripts. */
export const ACTION_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Time a task job waited on the queue before a worker took it (first attempt), seconds. */
export const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface WorkerMetrics {
  readonly registry: Registry;
  /** Final outcomes by kind and error code ('' when none). */
  readonly tasks: Counter<'outcome' | 'code'>;
  /** Run time of the action, by bundle (the FQN without its last part) and outcome kind. */
  readonly actionDuration: Histogram<'bundle' | 'outcome'>;
  readonly queueWait: Histogram;
  /** Retryable failures that go back to BullMQ for another attempt, by error code. */
  readonly retries: Counter<'code'>;
  /** Tasks cut short by this worker's shutdown and handed back to the queue. */
  readonly handedBack: Counter;
  readonly running: Gauge;
}

/** `com.datadoghq.http.request` -> `com.datadoghq.http`: bounded label values (bundles, not ~300 actions). */
export function bundleOf(action: string | undefined): string {
  if (!action) return 'none';
  const at = action.lastIndexOf('.');
  return at > 0 ? action.slice(0, at) : action;
}

export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'par_worker_' });
  const registers = [registry];
  return {
    registry,
    tasks: new Counter({
      name: 'par_worker_tasks_total',
      help: 'Final task outcomes on this worker, by outcome kind and error code.',
      labelNames: ['outcome', 'code'],
      registers,
    }),
    actionDuration: new Histogram({
      name: 'par_worker_action_duration_seconds',
      help: 'Run time of actions (final attempts), by bundle and outcome kind.',
      labelNames: ['bundle', 'outcome'],
      buckets: ACTION_DURATION_BUCKETS,
      registers,
    }),
    queueWait: new Histogram({
      name: 'par_worker_queue_wait_seconds',
      help: 'Time a task waited on the tasks queue before its first run.',
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    }),
    retries: new Counter({
      name: 'par_worker_retries_total',
      help: 'Retryable failures handed back to BullMQ for another attempt, by error code.',
      labelNames: ['code'],
      registers,
    }),
    handedBack: new Counter({
      name: 'par_worker_handed_back_total',
      help: "Tasks aborted by this worker's shutdown and put back on the queue.",
      registers,
    }),
    running: new Gauge({ name: 'par_worker_running_tasks', help: 'Tasks running on this worker now.', registers }),
  };
}
