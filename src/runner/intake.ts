/**
 * Intake: what the runner does with each delivery of a dequeue response, before any worker sees
 * it. Every delivery first records its lease token (the newest token always wins, so a result is
 * published under the current lease). Then the signed task is verified against the pinned
 * control-plane keys (signature, expiry, runner id, task id) and the action against the allowlist.
 *
 * Accepted: a job on `tasks` (job id = task id, so a redelivery of a task whose job still exists
 * does not run it a second time concurrently), holding the verified claims and an HMAC tag over
 * the job's payload (src/crypto/task-job-tag.ts), which workers check instead of the JWS.
 * Rejected: the failure goes straight on `results` with its code; the action never runs. All
 * writes for one response are batched.
 *
 * Two writes, leases then jobs: a crash between them leaves leases with no job, which the lease
 * keeper hands back (lease-keeper.ts); `inProgress` tells it which tasks are between the two
 * writes right now, so a live intake is never mistaken for a crash.
 *
 * Every verdict is written (and synced) to the audit log before any task is queued.
 */
import type { JobsOptions, Queue } from 'bullmq';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Delivery } from '../contracts/runner-api.js';
import type { ResultJobData, TaskJobData } from '../contracts/jobs.js';
import type { Allowlist } from '../actions/allowlist.js';
import type { TaskVerifier } from '../crypto/task-signature.js';
import { taggedTaskJob, type QueueKey } from '../crypto/task-job-tag.js';
import { claimsToTask, type VerifiedTask } from '../contracts/task.js';
import { ParError, toParError, type ErrorBody } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import type { CrashHook } from '../lib/crash-points.js';
import type { LeaseStore } from './lease-store.js';
import type { LeaseInspection } from './lease-reconciler.js';
import type { IntakeAudit } from './audit/task-audit.js';
import { RESULT_JOB_NAME, TASK_JOB_NAME, resultJobOptions } from '../contracts/job-options.js';
import { ATTR, SPAN } from '../tracing/attributes.js';
import { contextFromTraceparent, formatTraceparent, parTracer } from '../tracing/trace-context.js';

export interface IntakeDeps {
  runnerId: string;
  leases: LeaseStore;
  tasksQueue: Queue<TaskJobData>;
  resultsQueue: Queue<ResultJobData>;
  verifier: TaskVerifier;
  /** The key that tags queued jobs (derived from the runner's current identity key, cached per identity). */
  queueKey(): QueueKey;
  allowlist: Allowlist;
  /** Options of a `tasks` job (`taskJobOptions(policy, taskId)` from src/contracts/job-options.ts; job id = task id). */
  taskJobOptions(taskId: string): JobsOptions;
  logger: Logger;
  /** The audit trail: awaited before anything is queued (a failed append fails the intake). */
  audit?: IntakeAudit;
  now?: () => number;
  /** Tests only: crash points between the writes (crash-points.ts). */
  crash?: CrashHook;
  /**
   * BullMQ's view of the accepted tasks (LeaseReconciler.inspect): a redelivered task whose old job
   * finished without a result still to publish has its finished jobs removed, so it runs again.
   */
  inspect?(entries: readonly { taskId: string; leaseToken: string }[]): Promise<LeaseInspection[]>;
}

export interface IntakeReport {
  accepted: string[];
  rejected: Array<{ taskId: string; error: ErrorBody }>;
}

/** `traceparent`: from the claims, once their signature is verified (tracing only). */
type Verdict =
  | { delivery: Delivery; accepted: true; task: VerifiedTask; traceparent?: string | undefined }
  | { delivery: Delivery; accepted: false; error: ParError; traceparent?: string | undefined };

export class TaskIntake {
  private readonly now: () => number;
  private readonly pending = new Map<string, number>();

  constructor(private readonly deps: IntakeDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Task ids whose leases are (being) recorded and whose jobs are not queued yet. */
  get inProgress(): ReadonlySet<string> {
    return new Set(this.pending.keys());
  }

  async accept(deliveries: readonly Delivery[]): Promise<IntakeReport> {
    if (deliveries.length === 0) return { accepted: [], rejected: [] };
    for (const d of deliveries) this.pending.set(d.taskId, (this.pending.get(d.taskId) ?? 0) + 1);
    try {
      return await this.write(deliveries);
    } finally {
      for (const d of deliveries) {
        const n = (this.pending.get(d.taskId) ?? 1) - 1;
        if (n <= 0) this.pending.delete(d.taskId);
        else this.pending.set(d.taskId, n);
      }
    }
  }

  private async write(deliveries: readonly Delivery[]): Promise<IntakeReport> {
    const crash = this.deps.crash ?? (() => undefined);
    const receivedAt = this.now();
    // Leases first: even a rejected task's result must be published under its lease, and a
    // redelivery of a task already queued must refresh the token the publisher will use. The
    // signatures are checked while that write is on its way (nothing is queued before both end).
    const [, verdicts] = await Promise.all([
      this.deps.leases.record(deliveries.map((d) => ({ taskId: d.taskId, leaseToken: d.leaseToken }))),
      Promise.all(deliveries.map((d) => this.verify(d))),
    ]);
    crash('intake.after-leases');

    const acceptedAt = this.now();
    const spans = new Map(verdicts.map((v) => [v, this.startSpan(v, receivedAt)]));
    try {
      const report = await this.queue(verdicts, acceptedAt, receivedAt, spans);
      for (const span of spans.values()) span.end();
      return report;
    } catch (error) {
      for (const span of spans.values()) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'intake failed' });
        span.end();
      }
      throw error;
    }
  }

  /** One span per delivery, a child of the submission's span (the signed traceparent), from the response to its queuing. */
  private startSpan(verdict: Verdict, receivedAt: number): Span {
    const span = parTracer().startSpan(
      SPAN.intake,
      {
        kind: SpanKind.CONSUMER,
        startTime: receivedAt,
        attributes: {
          [ATTR.taskId]: verdict.delivery.taskId,
          [ATTR.runnerId]: this.deps.runnerId,
          [ATTR.deliveryAttempt]: verdict.delivery.attempt,
          [ATTR.verdict]: verdict.accepted ? 'accepted' : 'rejected',
          ...(verdict.accepted ? {} : { [ATTR.errorCode]: verdict.error.code }),
        },
      },
      contextFromTraceparent(verdict.traceparent),
    );
    if (!verdict.accepted) span.setStatus({ code: SpanStatusCode.ERROR, message: verdict.error.code });
    return span;
  }

  private async queue(
    verdicts: readonly Verdict[],
    acceptedAt: number,
    receivedAt: number,
    spans: ReadonlyMap<Verdict, Span>,
  ): Promise<IntakeReport> {
    const crash = this.deps.crash ?? (() => undefined);
    const key = this.deps.queueKey();
    const accepted = verdicts.flatMap((v) => (v.accepted ? [v] : []));
    const taskJobs = accepted.map((verdict) => {
      const { delivery } = verdict;
      const span = spans.get(verdict);
      if (!span) throw new Error('intake: no span for an accepted delivery');
      const traceparent = formatTraceparent(span.spanContext());
      return {
        name: TASK_JOB_NAME,
        // Tagged: workers act on this payload only, and only if the tag still matches its bytes.
        data: taggedTaskJob(key, {
          taskId: delivery.taskId,
          task: verdict.task,
          deliveryAttempt: delivery.attempt,
          acceptedAt,
          ...(traceparent ? { traceparent } : {}),
        }) satisfies TaskJobData,
        opts: { ...this.deps.taskJobOptions(delivery.taskId), jobId: delivery.taskId },
      };
    });
    try {
      await this.deps.audit?.recordVerdicts(
        verdicts.map((v) => (v.accepted ? { delivery: v.delivery } : { delivery: v.delivery, error: v.error })),
        { receivedAt, verdictAt: acceptedAt },
      );
    } catch (error) {
      // Fail closed: nothing queued, and no lease left for the keeper to extend, so each lapses and is handed out again.
      await this.deps.leases
        .removeIfCurrent(verdicts.map(({ delivery: d }) => ({ taskId: d.taskId, leaseToken: d.leaseToken })))
        .catch(() => undefined);
      throw error;
    }
    // A first delivery (attempt 1) can have no old job here: only redeliveries are inspected.
    const redelivered = accepted.filter((v) => v.delivery.attempt > 1).map((v) => v.delivery.taskId);
    if (redelivered.length > 0) await this.clearFinished(redelivered);
    const rejected = verdicts.flatMap((v) => (v.accepted ? [] : [{ delivery: v.delivery, error: v.error }]));
    const resultJobs = rejected.map(({ delivery, error }) => ({
      name: RESULT_JOB_NAME,
      data: {
        taskId: delivery.taskId,
        outcome: { kind: 'rejected', error: error.toBody(), attempts: delivery.attempt, durationMs: 0 },
      } satisfies ResultJobData,
      opts: resultJobOptions(delivery.taskId),
    }));
    await Promise.all([
      taskJobs.length > 0 ? this.deps.tasksQueue.addBulk(taskJobs) : undefined,
      resultJobs.length > 0 ? this.deps.resultsQueue.addBulk(resultJobs) : undefined,
    ]);
    crash('intake.after-jobs');

    for (const { delivery } of accepted) {
      this.deps.logger.info({ taskId: delivery.taskId, deliveryAttempt: delivery.attempt }, 'task accepted');
    }
    for (const { delivery, error } of rejected) {
      this.deps.logger.warn(
        { taskId: delivery.taskId, code: error.code, err: error },
        'task rejected; reporting the failure, the action will not run',
      );
    }
    return {
      accepted: taskJobs.map((j) => j.data.taskId),
      rejected: rejected.map(({ delivery, error }) => ({ taskId: delivery.taskId, error: error.toBody() })),
    };
  }

  /**
   * The control plane delivers a task again only when it has no result. If the runner still holds
   * the task's finished job (and a finished or no result job), adding the job would be a no-op
   * (same job id) and the lease would end without a run: remove both first. Rare: a result dropped
   * as stale in a race with a redelivery. Only redeliveries (attempt > 1) are inspected: should a
   * control plane's Redis lose a delivery count (a failover) and deliver a task again as attempt 1,
   * the no-op add leaves a `finished` lease, which the lease keeper hands back
   * (lease-reconciler.ts), and the next delivery (attempt 2) is inspected here.
   */
  private async clearFinished(taskIds: readonly string[]): Promise<void> {
    if (!this.deps.inspect) return;
    const inspections = await this.deps.inspect(taskIds.map((taskId) => ({ taskId, leaseToken: '' })));
    const finished = inspections.filter((i) => i.state === 'finished').map((i) => i.taskId);
    for (const taskId of finished) {
      await Promise.all([this.deps.tasksQueue.remove(taskId), this.deps.resultsQueue.remove(taskId)]);
      this.deps.logger.warn(
        { taskId },
        'delivered again although its job had finished here: the old job is removed and the task runs again',
      );
    }
  }

  private async verify(delivery: Delivery): Promise<Verdict> {
    try {
      const claims = await this.deps.verifier.verify(delivery.signedTask, {
        runnerId: this.deps.runnerId,
        checkExpiry: true,
        taskId: delivery.taskId,
        now: this.now,
      });
      if (!this.deps.allowlist.allows(claims.action)) {
        return {
          delivery,
          accepted: false,
          traceparent: claims.traceparent,
          error: new ParError('PAR_ERR_ACTION_NOT_ALLOWLISTED', `${claims.action} is not in this runner's actionsAllowlist`),
        };
      }
      return { delivery, accepted: true, task: claimsToTask(claims), traceparent: claims.traceparent };
    } catch (error) {
      return { delivery, accepted: false, error: toParError(error, 'PAR_ERR_TASK_MALFORMED') };
    }
  }
}
