/**
 * The result publisher: a BullMQ Worker on `results`, the durable outbox workers (and intake, for
 * rejected tasks) write final outcomes to. It publishes each result under the task's NEWEST lease
 * token from the leases hash, and the results that are ready together in one request:
 *
 * - Micro-batches: each job's processor hands its result to the batcher and waits for its own
 *   answer. A batch leaves at once (next turn of the event loop) while fewer than
 *   MAX_BATCHES_IN_FLIGHT are on the wire, else when one returns: results that come in meanwhile
 *   ride together (up to PUBLISH_BATCH_MAX). Alone, a result is not delayed; under load the
 *   requests carry many. Per batch: one HMGET of the lease tokens, one request, one conditional
 *   removal of the leases that are done.
 * - `recorded` / `duplicate`: the control plane has the result; the lease is removed, the job completes.
 * - network error, 5xx, 429 (and a few transient refusals), for the item or the whole request:
 *   the job is retried after a capped, jittered exponential delay (parked as delayed; never failed
 *   for lack of attempts). Jobs live in Redis, so results produced while the control plane is
 *   down, or while the runner restarts, are delivered later: nothing lost.
 * - `stale` (409 `PAR_ERR_LEASE_STALE`), `not_found` (404): another delivery owns the task; the job
 *   completes as dropped.
 *
 * A job completes only after the control plane answered for its item (at least once); nothing is
 * recorded twice: one job per task id, and the control plane dedupes as well.
 *
 * Recovery: a runner killed mid-publish leaves its result jobs active; they are published again once
 * their lock (`PAR_RUNNER_RESULTS_LOCK_MS`) lapses (stalls never fail a result job: publishing is
 * idempotent). A publish that finds no control plane starts the probe (control-plane-probe.ts),
 * whose `wake()` promotes every parked result the moment the control plane answers again.
 *
 * Each publication that ends (recorded, duplicate, dropped, failed) is an `outcome` entry in the
 * audit log; an audit failure there is logged, not retried (the control plane already decided).
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from '../lib/redis-connection.js';
import { RESULTS_QUEUE, type ResultJobData } from '../contracts/jobs.js';
import { PUBLISH_BATCH_MAX, type PublishBatchItem, type PublishResponse } from '../contracts/runner-api.js';
import { taskOutcomeSchema, type TaskOutcome } from '../contracts/task.js';
import { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import { backoffDelayMs, defaultInitialMs } from '../lib/backoff.js';
import type { ClientResult } from './control-plane-client.js';
import type { CrashHook } from '../lib/crash-points.js';
import type { LeaseStore } from './lease-store.js';
import { publishDecision } from './publish-decision.js';
import type { OutcomeAudit } from './audit/task-audit.js';

export interface ResultPublisherDeps {
  connection: Redis;
  queuePrefix: string;
  leases: LeaseStore;
  /** Publishes results together: one answer per item, in order (ControlPlaneClient.publishMany). */
  publish(items: readonly PublishBatchItem[], signal?: AbortSignal): Promise<ClientResult<PublishResponse>[]>;
  publishBackoffMaxMs: number;
  /** Result jobs taken at once (default PUBLISH_BATCH_MAX): the largest batch that can form. */
  concurrency?: number;
  onFatal(error: ParError): void;
  /** A publish found no control plane (no answer, 5xx): start probing for its return. */
  onUnreachable?(): void;
  /** Moves every parked (delayed) result job back to waiting: `results.promoteJobs()`. */
  promoteParked?(): Promise<void>;
  /** Each publication that ends, by how (metrics; must not throw). */
  onPublished?(published: 'recorded' | 'duplicate' | 'dropped' | 'failed'): void;
  /** Lock of an active result job (default 10 s); stalled jobs are looked for every half of it. */
  lockMs?: number;
  /** Tests only: crash points between the writes (crash-points.ts). */
  crash?: CrashHook;
  logger: Logger;
  audit?: OutcomeAudit;
}

export type PublishJobResult = { status: 'recorded' | 'duplicate' } | { status: 'dropped'; code: string };

/** Batch requests on the wire at once; results arriving meanwhile wait for the next one. */
const MAX_BATCHES_IN_FLIGHT = 2;

/** One result waiting for its batch, and how its job learns the answer. */
interface Pending {
  taskId: string;
  outcome: TaskOutcome;
  resolve(answer: ItemAnswer): void;
  reject(error: unknown): void;
}

interface ItemAnswer {
  /** The token it was published under (undefined: none recorded). */
  leaseToken: string | undefined;
  result: ClientResult<PublishResponse>;
}

export class ResultPublisher {
  readonly worker: Worker<ResultJobData, PublishJobResult>;
  /** Aborted on close, so in-flight publishes give up instead of holding shutdown. */
  private readonly abort = new AbortController();
  private readonly backoff: (attempt: number) => number;
  private lastWakeAt = 0;
  private pending: Pending[] = [];
  private inFlight = 0;
  private flushScheduled = false;

  constructor(private readonly deps: ResultPublisherDeps) {
    const policy = { initialMs: defaultInitialMs(deps.publishBackoffMaxMs), maxMs: deps.publishBackoffMaxMs };
    this.backoff = (attempt) => backoffDelayMs(attempt, policy);
    this.worker = new Worker<ResultJobData, PublishJobResult>(RESULTS_QUEUE, (job, token) => this.process(job, token), {
      connection: deps.connection,
      prefix: deps.queuePrefix,
      concurrency: deps.concurrency ?? PUBLISH_BATCH_MAX,
      lockDuration: deps.lockMs ?? 10_000,
      stalledInterval: Math.max(250, Math.floor((deps.lockMs ?? 10_000) / 2)),
      // A result job stalls only when the runner dies mid-publish; publishing again is harmless.
      maxStalledCount: 1000,
    });
    this.worker.on('error', (error) => deps.logger.warn({ err: error }, 'result publisher worker error'));
  }

  /** The control plane is back: parked results are published now, not after their backoff. */
  async wake(): Promise<void> {
    this.lastWakeAt = Date.now();
    try {
      await this.deps.promoteParked?.();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'cannot promote parked results');
    }
  }

  /**
   * Stops taking jobs; publishes in flight get `drainMs` to finish before they are aborted (an
   * aborted publish is retried on the next start: its job is still in Redis).
   */
  async close(drainMs = 2000): Promise<void> {
    const timer = setTimeout(() => this.abort.abort(), drainMs);
    try {
      await this.worker.close();
    } finally {
      clearTimeout(timer);
    }
  }

  private async process(job: Job<ResultJobData, PublishJobResult>, token: string | undefined): Promise<PublishJobResult> {
    const startedAt = Date.now();
    const taskId = job.data.taskId;
    const log = this.deps.logger.child({ taskId });
    const parsed = taskOutcomeSchema.safeParse(job.data.outcome);
    if (typeof taskId !== 'string' || !parsed.success) {
      throw new UnrecoverableError(`malformed result job: ${parsed.error?.issues[0]?.message ?? 'taskId'}`);
    }
    const { leaseToken, result } = await this.submit(taskId, parsed.data);
    if (leaseToken === undefined) {
      // Lease already removed (the control plane reported the task final). Published anyway so the
      // control plane could answer `duplicate` (it has the result) or refuse it as stale.
      log.warn('no lease recorded for this task; published without one');
    }
    if (result.ok) {
      log.info({ status: result.value.status, kind: parsed.data.kind }, 'result published');
      await this.audit(taskId, parsed.data, result.value.status);
      return { status: result.value.status };
    }
    const decision = publishDecision(result.error, result.kind, result.status);
    if (result.error.code === 'PAR_ERR_AUTH_RUNNER_UNKNOWN') this.deps.onFatal(result.error);
    if (decision === 'drop') {
      log.warn({ code: result.error.code }, 'result not published: another delivery owns this task, or it is gone');
      await this.audit(taskId, parsed.data, 'dropped', result.error.code);
      return { status: 'dropped', code: result.error.code };
    }
    if (decision === 'fail') {
      log.error({ code: result.error.code, err: result.error }, 'the control plane refused this result; kept as a failed job');
      await this.audit(taskId, parsed.data, 'failed', result.error.code);
      throw new UnrecoverableError(`${result.error.code}: ${result.error.message}`);
    }
    if (result.kind === 'network' || (result.status !== undefined && result.status >= 500)) this.deps.onUnreachable?.();
    const level = job.attemptsMade === 0 || job.attemptsMade % 20 === 0 ? 'warn' : 'debug';
    log[level]({ code: result.error.code, kind: result.kind, attemptsMade: job.attemptsMade }, 'publishing failed; will retry');
    // THE retry of results: result jobs carry no BullMQ attempts (src/contracts/job-options.ts); the
    // publisher parks the job as delayed, so a result is never failed for lack of attempts.
    // Woken while this publish was failing: the control plane just came back, retry soon.
    const delayMs = this.lastWakeAt >= startedAt ? this.backoff(1) : this.backoff(Math.max(1, job.attemptsStarted));
    await job.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  }

  /** Hands a result to the next batch; resolves with its own answer once the control plane gave it. */
  private submit(taskId: string, outcome: TaskOutcome): Promise<ItemAnswer> {
    return new Promise<ItemAnswer>((resolve, reject) => {
      this.pending.push({ taskId, outcome, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Sends what is pending on the next turn (so results handed over together leave together). */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.pending.length === 0 || this.inFlight >= MAX_BATCHES_IN_FLIGHT) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      while (this.pending.length > 0 && this.inFlight < MAX_BATCHES_IN_FLIGHT) {
        const batch = this.pending.splice(0, PUBLISH_BATCH_MAX);
        this.inFlight += 1;
        void this.send(batch).finally(() => {
          this.inFlight -= 1;
          this.scheduleFlush();
        });
      }
    });
  }

  /** One batch: its lease tokens (one HMGET), one request, then the finished leases removed (one script). */
  private async send(batch: Pending[]): Promise<void> {
    const crash = this.deps.crash ?? (() => undefined);
    try {
      const tokens = await this.deps.leases.getMany(batch.map((p) => p.taskId));
      crash('publish.before-publish');
      const items = batch.map((p, i) => ({ taskId: p.taskId, leaseToken: tokens[i] ?? '', outcome: p.outcome }));
      const results = await this.deps.publish(items, this.abort.signal);
      const answers = batch.map((p, i): ItemAnswer => {
        const result = results[i] ?? {
          ok: false,
          kind: 'http',
          error: new ParError('PAR_ERR_INTERNAL', `no answer for task ${p.taskId}`),
        };
        return { leaseToken: tokens[i], result };
      });
      if (answers.some((a) => a.result.ok)) {
        crash('publish.after-publish');
        const done = batch.flatMap((p, i) => {
          const leaseToken = answers[i]?.leaseToken;
          return answers[i]?.result.ok && leaseToken !== undefined ? [{ taskId: p.taskId, leaseToken }] : [];
        });
        await this.deps.leases.removeIfCurrent(done);
        crash('publish.after-lease-removed');
      }
      batch.forEach((p, i) => {
        const answer = answers[i];
        if (answer) p.resolve(answer);
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  private async audit(
    taskId: string,
    outcome: TaskOutcome,
    published: 'recorded' | 'duplicate' | 'dropped' | 'failed',
    publishCode?: string,
  ): Promise<void> {
    this.deps.onPublished?.(published);
    try {
      await this.deps.audit?.recordOutcome(taskId, outcome, {
        published,
        ...(publishCode ? { publishCode } : {}),
        publishedAt: Date.now(),
      });
    } catch (error) {
      this.deps.logger.error({ taskId, err: error }, 'the outcome could not be written to the audit log');
    }
  }
}
