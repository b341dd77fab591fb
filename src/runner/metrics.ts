/**
 * The runner's Prometheus metrics (admin server `/metrics`), in its own prom-client Registry.
 * Per-task counts are incremented in memory; queue depths (BullMQ `getJobCounts`, one call per
 * queue) and the audit gauges are read at scrape time only, never per task.
 */
import type { Queue } from 'bullmq';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditLog } from './audit/audit-log.js';

/** A scrape never waits longer than this for Redis (ioredis queues commands while it is away). */
export const SCRAPE_REDIS_TIMEOUT_MS = 1_000;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** BullMQ job states reported as queue depth. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

export interface RunnerMetrics {
  readonly registry: Registry;
  /** Deliveries from the control plane (every attempt) and those with attempt > 1. */
  readonly deliveries: Counter;
  readonly redeliveries: Counter;
  /** Intake verdicts: accepted (queued for workers) or rejected (by error code). */
  readonly intake: Counter<'verdict' | 'code'>;
  /** Result publications that ended, by how: recorded, duplicate, dropped, failed. */
  readonly published: Counter<'status'>;
}

export interface RunnerMetricsOptions {
  /** The runner's BullMQ queues (`tasks`, `results`): depths by state at scrape time. */
  queues?: readonly Queue[];
  /** The `results` queue: the outbox depth is its waiting + delayed + active + prioritized jobs. */
  outbox?: Queue;
  audit?: Pick<AuditLog, 'stats'>;
  defaultMetrics?: boolean;
}

export function createRunnerMetrics(options: RunnerMetricsOptions): RunnerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'par_runner_' });
  const registers = [registry];
  const scrapeErrors = new Counter({
    name: 'par_runner_metrics_redis_errors_total',
    help: 'Scrapes whose queue depths could not be read from Redis in time (those gauges are left out).',
    registers,
  });
  /** Reads from Redis for one gauge; on failure or timeout the gauge has no samples this scrape. */
  const fromRedis = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await within(read(), SCRAPE_REDIS_TIMEOUT_MS);
    } catch {
      scrapeErrors.inc();
      return undefined;
    }
  };

  if (options.queues && options.queues.length > 0) {
    const queues = options.queues;
    new Gauge({
      name: 'par_runner_queue_jobs',
      help: "Jobs on the runner's BullMQ queues by state (read with getJobCounts at scrape time).",
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        const counts = await fromRedis(() => Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))));
        if (!counts) return;
        queues.forEach((q, i) => {
          for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, counts[i]?.[state] ?? 0);
        });
      },
    });
  }
  if (options.outbox) {
    const outbox = options.outbox;
    new Gauge({
      name: 'par_runner_outbox_depth',
      help: 'Results waiting to be published to the control plane (the results queue: waiting, delayed, active, prioritized).',
      registers,
      async collect() {
        // NaN (not 0) when Redis does not answer: an unknown depth must not look like an empty outbox.
        const depth = await fromRedis(() => outbox.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized'));
        this.set(depth ?? Number.NaN);
      },
    });
  }
  if (options.audit) {
    // The audit trail's gauges, under the names the hand-written /metrics lines used.
    const audit = options.audit;
    new Gauge({
      name: 'par_audit_chain_length',
      help: 'Entries in the runner audit chain (all files).',
      registers,
      collect() {
        this.set(audit.stats.chainLength);
      },
    });
    new Gauge({
      name: 'par_audit_entries_since_checkpoint',
      help: 'Entries not yet covered by a signed checkpoint.',
      registers,
      collect() {
        this.set(audit.stats.entriesSinceCheckpoint);
      },
    });
    new Counter({
      name: 'par_audit_append_failures_total',
      help: 'Audit entries that could not be written.',
      registers,
      collect() {
        this.reset();
        this.inc(audit.stats.appendFailures);
      },
    });
  }

  return {
    registry,
    deliveries: new Counter({ name: 'par_runner_deliveries_total', help: 'Task deliveries received from the control plane.', registers }),
    redeliveries: new Counter({
      name: 'par_runner_redeliveries_total',
      help: 'Deliveries of a task whose earlier lease expired (attempt > 1).',
      registers,
    }),
    intake: new Counter({
      name: 'par_runner_intake_total',
      help: 'Intake verdicts: accepted (queued for workers) or rejected, by error code.',
      labelNames: ['verdict', 'code'],
      registers,
    }),
    published: new Counter({
      name: 'par_runner_results_published_total',
      help: 'Result publications that ended, by how (recorded, duplicate, dropped, failed).',
      labelNames: ['status'],
      registers,
    }),
  };
}
