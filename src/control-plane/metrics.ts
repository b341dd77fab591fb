/**
 * The control plane's Prometheus metrics (`GET /metrics`), in its own prom-client Registry so
 * several control planes in one process (tests) never share counters. Everything is counted in
 * memory where it happens; the long-poll waiter gauge is read at scrape time. Nothing here touches
 * Redis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** submit -> result, seconds: a task runs for milliseconds to an hour. */
export const SUBMIT_TO_RESULT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];

export interface ControlPlaneMetrics {
  readonly registry: Registry;
  readonly submitted: Counter<'replayed'>;
  readonly delivered: Counter;
  readonly redeliveries: Counter;
  /** Final results by outcome kind and error code ('' when none); lease expiries count as failed/PAR_ERR_LEASE_EXPIRED. */
  readonly results: Counter<'outcome' | 'code'>;
  /** Result publications by answer: recorded, duplicate, stale, not_found. */
  readonly resultReports: Counter<'status'>;
  readonly submitToResult: Histogram;
  /** Results per batch publish request (its count is the number of batch requests). */
  readonly resultBatchSize: Histogram;
  /** Expired leases found by the sweeper: requeued or failed (max deliveries reached). */
  readonly leaseExpiries: Counter<'result'>;
  /** HTTP connections accepted, and open now (a runner holds one: parked-polls.ts). */
  readonly connectionsOpened: Counter;
  readonly connectionsOpen: Gauge;
  /** Long polls answered, and those answered early because their runner sent another call on the same socket. */
  readonly polls: Counter;
  readonly pollYields: Counter;
  /** Runner health checks recorded, by how they came: `poll` (carried on a dequeue) or `endpoint`. */
  readonly healthChecks: Counter<'via'>;
}

export interface ControlPlaneMetricsOptions {
  /** Armed long-poll and task waiters, read at scrape time. */
  waiters: () => number;
  /** Process metrics (CPU, memory, event loop): on for the process, off for throwaway test deps. */
  defaultMetrics?: boolean;
}

export function createControlPlaneMetrics(options: ControlPlaneMetricsOptions): ControlPlaneMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'par_cp_' });
  const registers = [registry];
  new Gauge({
    name: 'par_cp_longpoll_waiters',
    help: 'Requests waiting for a wake-up (runner long polls and task waits).',
    registers,
    collect() {
      this.set(options.waiters());
    },
  });
  return {
    registry,
    submitted: new Counter({
      name: 'par_cp_tasks_submitted_total',
      help: 'Task submissions answered, by whether an Idempotency-Key replayed an earlier task.',
      labelNames: ['replayed'],
      registers,
    }),
    delivered: new Counter({
      name: 'par_cp_tasks_delivered_total',
      help: 'Task deliveries handed to runners (first deliveries and redeliveries).',
      registers,
    }),
    redeliveries: new Counter({
      name: 'par_cp_task_redeliveries_total',
      help: 'Deliveries of a task after its earlier lease expired (attempt > 1).',
      registers,
    }),
    results: new Counter({
      name: 'par_cp_task_results_total',
      help: 'Final task results recorded, by outcome kind and error code.',
      labelNames: ['outcome', 'code'],
      registers,
    }),
    resultReports: new Counter({
      name: 'par_cp_result_reports_total',
      help: 'Result publications from runners, by answer (recorded, duplicate, stale, not_found).',
      labelNames: ['status'],
      registers,
    }),
    submitToResult: new Histogram({
      name: 'par_cp_submit_to_result_seconds',
      help: 'Time from submission to the recorded final result.',
      buckets: SUBMIT_TO_RESULT_BUCKETS,
      registers,
    }),
    resultBatchSize: new Histogram({
      name: 'par_cp_result_batch_size',
      help: 'Results carried by each batch result publication (POST /api/v1/runner/tasks/results).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 100],
      registers,
    }),
    leaseExpiries: new Counter({
      name: 'par_cp_lease_expiries_total',
      help: 'Expired leases found by the sweeper, by what happened (requeued, failed).',
      labelNames: ['result'],
      registers,
    }),
    connectionsOpened: new Counter({
      name: 'par_cp_http_connections_opened_total',
      help: 'HTTP connections accepted by this process (a runner keeps one open).',
      registers,
    }),
    connectionsOpen: new Gauge({
      name: 'par_cp_http_connections_open',
      help: 'HTTP connections open now.',
      registers,
    }),
    polls: new Counter({
      name: 'par_cp_longpolls_total',
      help: 'Runner long polls (dequeue requests) answered.',
      registers,
    }),
    pollYields: new Counter({
      name: 'par_cp_longpoll_yields_total',
      help: 'Long polls answered before their wait ended because the runner sent another call on the same connection.',
      registers,
    }),
    healthChecks: new Counter({
      name: 'par_cp_runner_health_checks_total',
      help: 'Runner health checks recorded, by how they came (poll: carried on a dequeue; endpoint: POST /api/v1/runner/health).',
      labelNames: ['via'],
      registers,
    }),
  };
}
