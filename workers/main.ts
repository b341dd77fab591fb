/**
 * The worker process's composition root: identity -> job tag keys, allowlist, action registry ->
 * BullMQ Worker on `tasks`, outcomes to `results`. Signal handling belongs to the CLI, which
 * calls `close()`, a drain bounded by `PAR_WORKER_GRACE_MS`: the worker takes no new jobs,
 * running ones get the grace period to finish, then they are aborted (AbortSignal) and handed back
 * to the queue (task-processor.ts), so they run again on another worker and are recorded once.
 * An action that ignores its signal gets ABORT_WINDOW_MS more; then the worker closes anyway and
 * the job comes back when its lock lapses (stall recovery).
 */
import { Queue, Worker } from 'bullmq';
import { pingWithin, startLivenessFile } from './liveness.js';
import { createRedisConnection } from '../src/lib/redis-connection.js';
import { Allowlist } from '../src/actions/allowlist.js';
import { createActionRegistry } from '../src/actions/registry.js';
import { prepareScriptSandbox } from '../src/actions/script/sandbox-setup.js';
import type { WorkerConfig } from '../src/config/worker.js';
import { withoutWorkerSecrets } from '../src/config/worker-secrets.js';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../src/contracts/jobs.js';
import type { Logger } from '../src/logging/logger.js';
import { waitForIdentity } from './identity-wait.js';
import { QueueKeyRing } from './identity-reload.js';
import { RESULT_JOB_NAME, resultJobOptions } from '../src/contracts/job-options.js';
import { createTaskProcessor, DRAIN_ABORT_REASON, type TaskJobResult } from './task-processor.js';
import { crashHook } from '../src/lib/crash-points.js';
import { settleWithin } from '../src/lib/timing.js';
import { createWorkerMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { CANCEL_ABORT_REASON, CancelListener } from './cancel-listener.js';

/** After the grace period: how long aborted jobs get to hand themselves back before the worker closes anyway. */
export const ABORT_WINDOW_MS = 3_000;

export interface RunningWorker {
  /** Base URL of the metrics server (`/metrics`) when PAR_WORKER_METRICS_PORT is set. */
  metricsUrl?: string;
  /** Cancels a task running on this worker (its outcome becomes `cancelled`); false if not running here. */
  cancel(taskId: string, reason?: string): boolean;
  /** Stops taking jobs, lets running ones finish within the grace period, hands the rest back, closes connections. Idempotent. */
  close(): Promise<void>;
}

export interface RunWorkerOptions {
  /** Aborts the wait for the identity file (shutdown requested before the runner enrolled). */
  signal?: AbortSignal;
}

export async function runWorker(config: WorkerConfig, logger: Logger, options: RunWorkerOptions = {}): Promise<RunningWorker> {
  const log = logger.child({ component: 'worker' });
  // Built first: a bad setting (CA bundle, script config path, script sandbox) fails at start, not after enrollment.
  const sandbox = await prepareScriptSandbox(
    {
      mode: config.scriptSandbox,
      user: config.scriptUser,
      binds: config.scriptSandboxBind,
      network: config.scriptSandboxNetwork,
      configDir: config.configDir,
      path: process.env['PATH'],
    },
    log,
  );
  const registry = createActionRegistry({
    // The composition root hands the worker's environment over, minus its secrets (keys, Redis URL,
    // identity): scripts get only their allowedEnvVars of it.
    script: {
      configFile: config.scriptConfigFile,
      maxOutputBytes: config.scriptMaxOutputBytes,
      parentEnv: withoutWorkerSecrets(process.env),
      sandbox,
    },
    postgresql: { maxRows: config.postgresMaxRows },
    // Kubernetes exec plugins get PATH, HOME and locale of it, plus their own exec.env, built per call.
    kubernetes: { parentEnv: process.env },
    http: {
      hostAllowlist: config.httpHostAllowlist,
      allowMetadataAddresses: config.httpAllowMetadataAddresses,
      denyLoopback: config.httpDenyLoopback,
      caBundleFile: config.httpCaBundleFile,
      configDir: config.configDir,
    },
  });
  // Up before the identity wait: a worker waiting for enrollment is scraped too, and a taken port fails at once.
  const metrics = createWorkerMetrics();
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort > 0) {
    try {
      metricsServer = await startMetricsServer(metrics.registry, config.metricsHost, config.metricsPort);
    } catch (error) {
      await registry.close();
      throw new Error(
        `PAR_WORKER_METRICS_PORT: cannot listen on ${config.metricsHost}:${config.metricsPort}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    log.info({ metricsUrl: `${metricsServer.url}/metrics` }, 'worker metrics served');
  }
  let identity;
  try {
    identity = await waitForIdentity(config.configDir, {
      waitMs: config.identityWaitMs,
      logger: log,
      signal: options.signal,
      fromEnv: config.runnerIdentity,
    });
  } catch (error) {
    await Promise.allSettled([registry.close(), metricsServer?.close()]);
    throw error;
  }
  // Job tags are checked with keys derived from the runner identity; it is re-read when the runner rotates it.
  const jobTags = new QueueKeyRing(identity, config.configDir, config.runnerIdentity, log);
  jobTags.watch();
  const allowlistEntries = config.allowlist ?? identity.actionsAllowlist;
  const allowlist = new Allowlist(allowlistEntries);

  // BullMQ needs maxRetriesPerRequest: null so its blocking commands survive Redis restarts.
  const connection = createRedisConnection(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
  const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection, prefix: config.queuePrefix });

  // Subscribed before the Worker takes its first job (cancel-listener.ts).
  let worker: Worker<TaskJobData, TaskJobResult> | undefined = undefined;
  let cancels: CancelListener;
  try {
    cancels = await CancelListener.start(
      connection,
      config.queuePrefix,
      (taskId) => {
        if (worker?.cancelJob(taskId, CANCEL_ABORT_REASON)) log.info({ taskId }, 'task cancelled on the control plane: aborting its run');
      },
      log,
    );
  } catch (error) {
    await Promise.allSettled([jobTags.stop(), results.close(), registry.close()]);
    connection.disconnect();
    throw error;
  }
  const processor = createTaskProcessor({
    runnerId: identity.runnerId,
    jobTags,
    allowlist,
    registry,
    configDir: config.configDir,
    limits: { httpMaxResponseBytes: config.httpMaxResponseBytes },
    maxAttempts: config.maxAttempts,
    logger: log,
    publishResult: async (result) => {
      await results.add(RESULT_JOB_NAME, result, resultJobOptions(result.taskId));
    },
    crash: crashHook(config.testCrashAt),
    metrics,
    isCancelled: (taskId) => cancels.isCancelled(taskId),
  });
  if (config.testCrashAt)
    log.warn({ crashAt: config.testCrashAt }, 'PAR_TEST_CRASH_AT is set: this worker exits at that point (tests only)');

  worker = new Worker<TaskJobData, TaskJobResult>(TASKS_QUEUE, processor, {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDuration: config.lockMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => log.error({ err: error }, 'worker error'));
  try {
    await worker.waitUntilReady();
  } catch (error) {
    await Promise.allSettled([worker.close(true), results.close(), registry.close(), metricsServer?.close()]);
    cancels.close();
    connection.disconnect();
    throw error;
  }
  log.info(
    { runnerId: identity.runnerId, concurrency: config.concurrency, allowlist: allowlist.entries, actions: registry.fqns },
    'worker ready',
  );
  // Healthy = the consumer runs and Redis answers; no PING is queued while the connection is down.
  const liveness =
    config.livenessFile === undefined
      ? undefined
      : startLivenessFile(
          config.livenessFile,
          config.livenessIntervalMs,
          {
            healthy: async (signal) =>
              worker.isRunning() && !worker.closing && connection.status === 'ready' && pingWithin(() => connection.ping(), signal),
          },
          log,
        );

  let closing: Promise<void> | undefined;
  return {
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    cancel: (taskId, reason) => worker.cancelJob(taskId, reason),
    close: () => {
      closing ??= (async () => {
        await jobTags.stop();
        await liveness?.stop();
        // worker.close() stops fetching at once and resolves when the running jobs are done.
        const closed = worker.close();
        if (!(await settleWithin(closed, config.graceMs))) {
          log.warn({ graceMs: config.graceMs }, 'grace period over: aborting running tasks and handing them back to the queue');
          worker.cancelAllJobs(DRAIN_ABORT_REASON);
          if (!(await settleWithin(closed, ABORT_WINDOW_MS))) {
            // close(true) cannot interrupt a close() in progress; dropping the connections can.
            log.warn('running tasks ignored the abort; closing anyway (their jobs come back when their locks lapse)');
          }
        }
        // Bounded: a worker past its grace must exit even with a dead Redis or a stuck action.
        await settleWithin(results.close(), 2_000);
        await settleWithin(registry.close(), 2_000);
        cancels.close();
        if (metricsServer) await settleWithin(metricsServer.close(), 1_000);
        if (!(await settleWithin(connection.quit(), 1_000))) connection.disconnect();
        log.info('worker closed');
      })();
      return closing;
    },
  };
}
