/**
 * What a worker does with one job of the `tasks` queue. The queue is not trusted: the job's HMAC
 * tag (put on by the runner's intake after it verified the signed task, src/crypto/task-job-tag.ts)
 * is checked over the exact bytes of the job's payload, so a job edited or forged in Redis never
 * runs, and the allowlist is re-checked before anything runs. The worker acts only on the tagged
 * payload (whose task id must be the job id). The run itself is one `taskLifecycleMachine` actor.
 *
 * Job flow, as BullMQ sees it:
 *  - retryable failure with attempts left: throw a plain Error -> BullMQ retries with backoff;
 *  - any final outcome: add `{taskId, outcome}` to `results` first (so a crash re-runs the task
 *    instead of losing its result), then complete (success) or throw UnrecoverableError
 *    (failure: shown as failed, never retried).
 *  - cancelled by a user before it started (the runner's cancel marker is set): never runs; a
 *    `cancelled` outcome goes to `results` like any final outcome. Cancelled while running: the
 *    signal aborts (cancel-listener.ts), the lifecycle ends `cancelled`, same path.
 *  - aborted by the worker's drain (its grace period ran out, `DRAIN_ABORT_REASON`): nothing goes to
 *    `results`; the job goes back to waiting (`moveToWait`, not counted as a failed attempt) and
 *    runs again on another worker. Publishing nothing keeps recording exactly once: the only
 *    result is the re-run's.
 */
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { createActor, toPromise } from 'xstate';
import {
  taskLifecycleMachine,
  type TaskLifecycleFinalState,
  type TaskLifecycleOutput,
} from '../machines/task-lifecycle/task-lifecycle.machine.js';
import type { Allowlist } from '../src/actions/allowlist.js';
import type { ActionLimits } from '../src/actions/action.js';
import type { ActionRegistry } from '../src/actions/registry.js';
import type { ResultJobData, TaskJobData, TaskJobPayload } from '../src/contracts/jobs.js';
import type { OutcomeKind, TaskOutcome, VerifiedTask } from '../src/contracts/task.js';
import { ParError, toParError } from '../src/errors/par-error.js';
import type { Logger } from '../src/logging/logger.js';
import { LifecycleRuns } from './lifecycle-actors.js';
import { CANCEL_ABORT_REASON } from './cancel-listener.js';
import { redactingLogger, TaskSecrets } from './redaction.js';
import type { CrashHook } from '../src/lib/crash-points.js';
import { bundleOf, type WorkerMetrics } from './metrics.js';
import { TaskRunTrace } from './task-tracing.js';

/** The abort reason a draining worker gives its running jobs once the grace period is over. */
export const DRAIN_ABORT_REASON = 'par:worker-draining';

export interface TaskProcessorDeps {
  runnerId: string;
  /** Checks the job's tag and returns its payload (workers/identity-reload.ts); throws PAR_ERR_TASK_SIGNATURE_INVALID. */
  jobTags: { verify(data: unknown): Promise<TaskJobPayload> };
  allowlist: Allowlist;
  registry: ActionRegistry;
  configDir: string;
  limits: ActionLimits;
  /** Worker-side cap on runs per task; the job's own `attempts` option caps it too. */
  maxAttempts: number;
  logger: Logger;
  /** Adds the final outcome to the `results` queue (durably, before the job completes). */
  publishResult(result: ResultJobData): Promise<void>;
  /** Tests only: crash points (crash-points.ts). */
  crash?: CrashHook;
  /** This worker's Prometheus metrics (metrics.ts); in-memory increments only. */
  metrics?: WorkerMetrics;
  /** Whether a user cancelled the task (the runner's cancel marker); checked before it runs. */
  isCancelled?(taskId: string): Promise<boolean>;
}

/** What the job stores as its return value: the outcome kind only (the output is in `results`). */
export interface TaskJobResult {
  kind: OutcomeKind;
}

export type TaskProcessor = (job: Job<TaskJobData>, token?: string, signal?: AbortSignal) => Promise<TaskJobResult>;

const OUTCOME_KIND: Record<TaskLifecycleFinalState, OutcomeKind> = {
  succeeded: 'succeeded',
  failedRetryable: 'failed',
  failedFatal: 'failed',
  timedOut: 'timedOut',
  cancelled: 'cancelled',
};

type Admission = { task: VerifiedTask; traceparent?: string | undefined } | { rejection: ParError };

async function admit(deps: TaskProcessorDeps, data: TaskJobData, jobId: string | undefined): Promise<Admission> {
  try {
    // The tag covers the payload's bytes; from here on the worker acts on the payload only.
    const payload = await deps.jobTags.verify(data);
    if (payload.taskId !== jobId)
      return { rejection: new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'the queued job was tagged for another job id') };
    const task = payload.task;
    if (task.runnerId !== deps.runnerId)
      return { rejection: new ParError('PAR_ERR_TASK_WRONG_RUNNER', `the task is for ${task.runnerId}`) };
    if (!deps.allowlist.allows(task.action)) return { rejection: new ParError('PAR_ERR_ACTION_NOT_ALLOWLISTED', task.action) };
    if (!deps.registry.get(task.action)) return { rejection: new ParError('PAR_ERR_ACTION_UNKNOWN', task.action) };
    return { task, traceparent: payload.traceparent };
  } catch (error) {
    return { rejection: toParError(error, 'PAR_ERR_TASK_MALFORMED') };
  }
}

/** The lifecycle machine with the worker's actors, provided once per worker (not per job). */
interface Lifecycle {
  runs: LifecycleRuns;
  machine: typeof taskLifecycleMachine;
}

async function runLifecycle(
  lifecycle: Lifecycle,
  task: VerifiedTask,
  logger: Logger,
  signal: AbortSignal | undefined,
  secrets: TaskSecrets,
  tracing: TaskRunTrace,
): Promise<TaskLifecycleOutput> {
  const actor = createActor(lifecycle.machine, {
    input: {
      taskId: task.taskId,
      action: task.action,
      inputs: task.inputs,
      connection: task.connection,
      timeoutMs: task.timeoutMs,
      now: Date.now,
    },
  });
  lifecycle.runs.bind(actor.system, { logger, secrets, traceContext: (state) => tracing.contextFor(state) });
  // Tracing watches the machine from outside: one span per state (task-tracing.ts).
  const watching = tracing.observe(actor);
  // BullMQ aborts the signal only on an explicit `worker.cancelJob`: that is a cancel request.
  const onAbort = () =>
    actor.send({
      type: 'task.cancel',
      reason: typeof signal?.reason === 'string' ? signal.reason : 'the job was cancelled on the worker',
    });
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    actor.start();
    if (signal?.aborted) onAbort();
    return await toPromise(actor);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    actor.stop();
    watching.unsubscribe();
  }
}

export function createTaskProcessor(deps: TaskProcessorDeps): TaskProcessor {
  // Three declared parameters: BullMQ passes the AbortSignal only to processors that take it.
  const metrics = deps.metrics;
  const runs = new LifecycleRuns({ registry: deps.registry, configDir: deps.configDir, limits: deps.limits });
  const lifecycle: Lifecycle = { runs, machine: taskLifecycleMachine.provide({ actors: runs.actors }) };
  return async (job, token, signal) => {
    metrics?.running.inc();
    try {
      return await processJob(job, token, signal);
    } finally {
      metrics?.running.dec();
    }
  };

  async function processJob(job: Job<TaskJobData>, token: string | undefined, signal: AbortSignal | undefined): Promise<TaskJobResult> {
    const data = job.data;
    // Named by its job id (intake sets job id = task id), so a job whose data names another task
    // (a copy, a forgery) is never reported as that task; the tagged payload's task id must match it (admit).
    const givenId = (data as Partial<TaskJobData> | undefined)?.taskId;
    const taskId = job.id ?? (typeof givenId === 'string' ? givenId : '');
    const attempt = job.attemptsMade + 1;
    const maxAttempts = Math.min(deps.maxAttempts, job.opts.attempts ?? 1);
    // Every credential value resolved for this task is redacted from its outcome, its failure
    // messages (BullMQ keeps them in Redis) and its log lines (redaction.ts).
    const secrets = new TaskSecrets();
    const logger = redactingLogger(deps.logger.child({ taskId, jobId: job.id, attempt }), secrets);
    const startedAt = Date.now();
    // The queue wait of the first run (later attempts wait out their backoff on purpose).
    if (attempt === 1 && job.timestamp > 0) metrics?.queueWait.observe(Math.max(0, startedAt - job.timestamp) / 1000);

    // Read after BullMQ registered the job (so a cancel published from now on reaches its signal);
    // the job's tag is checked while that read is on its way.
    const [cancelled, admission] = await Promise.all([deps.isCancelled?.(taskId), admit(deps, data, job.id)]);
    const cancelledBefore = cancelled === true;
    const tracing = TaskRunTrace.start(job, {
      taskId,
      attempt,
      startedAt,
      ...('task' in admission
        ? { action: admission.task.action, traceparent: admission.traceparent, signedTraceparent: admission.task.traceparent }
        : {}),
    });
    let outcome: TaskOutcome;
    let action: string | undefined;
    if (cancelledBefore) {
      outcome = {
        kind: 'cancelled',
        error: new ParError('PAR_ERR_TASK_CANCELLED', `${CANCEL_ABORT_REASON} before it ran`).toBody(),
        attempts: attempt,
        durationMs: Date.now() - startedAt,
      };
    } else if ('rejection' in admission) {
      outcome = { kind: 'rejected', error: admission.rejection.toBody(), attempts: attempt, durationMs: Date.now() - startedAt };
    } else {
      action = admission.task.action;
      let run: TaskLifecycleOutput;
      try {
        run = await runLifecycle(lifecycle, admission.task, logger, signal, secrets, tracing);
      } catch (error) {
        // The machine itself failed (a bug): report it rather than leave the task hanging.
        run = { kind: 'failedFatal', error: toParError(error).toBody(), durationMs: Date.now() - startedAt };
      }
      if (run.kind !== 'succeeded' && signal?.aborted && signal.reason === DRAIN_ABORT_REASON && token !== undefined) {
        // Cut short by this worker's shutdown, not by the task: hand the job back untouched.
        tracing.end({ kind: run.kind, code: run.error?.code, handedBack: true });
        await job.moveToWait(token);
        metrics?.handedBack.inc();
        logger.warn(
          { action, durationMs: run.durationMs },
          'worker draining: task aborted and handed back to the queue; it runs again elsewhere',
        );
        throw new WaitingError();
      }
      const error = run.error ? { ...run.error, message: secrets.string(run.error.message) } : undefined;
      if (run.kind === 'failedRetryable' && attempt < maxAttempts) {
        tracing.end({ kind: 'failed', code: error?.code, retrying: true });
        logger.warn({ action, code: error?.code, durationMs: run.durationMs, maxAttempts }, 'task failed, will retry');
        metrics?.retries.inc({ code: error?.code ?? 'PAR_ERR_ACTION_FAILED' });
        throw new Error(`${error?.code ?? 'PAR_ERR_ACTION_FAILED'}: ${error?.message ?? 'retryable failure'}`);
      }
      outcome = {
        kind: OUTCOME_KIND[run.kind],
        ...(run.kind === 'succeeded' ? { output: secrets.value(run.output) } : {}),
        ...(error ? { error } : {}),
        attempts: attempt,
        durationMs: run.durationMs,
        redactions: secrets.redactions,
      };
    }

    tracing.end({ kind: outcome.kind, code: outcome.error?.code });
    await deps.publishResult({ taskId, outcome });
    metrics?.tasks.inc({ outcome: outcome.kind, code: outcome.error?.code ?? '' });
    metrics?.actionDuration.observe({ bundle: bundleOf(action), outcome: outcome.kind }, outcome.durationMs / 1000);
    deps.crash?.('worker.after-result');
    const summary = { action, kind: outcome.kind, code: outcome.error?.code, durationMs: outcome.durationMs };
    if (outcome.kind === 'succeeded') {
      logger.info(summary, 'task succeeded');
      return { kind: outcome.kind };
    }
    logger.warn(summary, `task ${outcome.kind}`);
    throw new UnrecoverableError(`${outcome.error?.code ?? 'PAR_ERR_ACTION_FAILED'}: ${outcome.error?.message ?? outcome.kind}`);
  }
}
