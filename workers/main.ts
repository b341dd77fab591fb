/**
 * The worker process's composition root: identity -> verifier, allowlist, action registry ->
 * BullMQ Worker on `tasks`, outcomes to `results`. Signal handling belongs to the CLI, which
 * calls `close()`: running jobs finish, then Redis connections and HTTP pools close.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Allowlist } from '../src/actions/allowlist.js';
import { createActionRegistry } from '../src/actions/registry.js';
import { prepareScriptSandbox } from '../src/actions/script/sandbox-setup.js';
import type { WorkerConfig } from '../src/config/worker.js';
import { withoutWorkerSecrets } from '../src/config/worker-secrets.js';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../src/contracts/jobs.js';
import { TaskVerifier } from '../src/crypto/task-signature.js';
import type { Logger } from '../src/logging/logger.js';
import { waitForIdentity } from './identity-wait.js';
import { IdentityKeysReloader } from './identity-reload.js';
import { keyAnswerKey } from '../src/contracts/control-plane-keys.js';
import { RESULT_JOB_NAME, resultJobOptions } from './job-options.js';
import { createTaskProcessor, type TaskJobResult } from './task-processor.js';

export interface RunningWorker {
  /** Cancels a task running on this worker (its outcome becomes `cancelled`); false if not running here. */
  cancel(taskId: string, reason?: string): boolean;
  /** Stops taking jobs, lets running ones finish, then closes connections. Idempotent. */
  close(): Promise<void>;
}

export interface RunWorkerOptions {
  /** Aborts the wait for the identity file (shutdown requested before the runner enrolled). */
  signal?: AbortSignal;
}

export async function runWorker(config: WorkerConfig, logger: Logger, options: RunWorkerOptions = {}): Promise<RunningWorker> {
  const log = logger.child({ component: 'worker' });
  // Built first: a bad setting (CA bundle, script config path, script sandbox) fails at start, not after enrollment.
  const sandbox = await prepareScriptSandbox({
    mode: config.scriptSandbox,
    user: config.scriptUser,
    binds: config.scriptSandboxBind,
    network: config.scriptSandboxNetwork,
    configDir: config.configDir,
    path: process.env['PATH'],
  }, log);
  const registry = createActionRegistry({
    // The composition root hands the worker's environment over, minus its secrets (keys, Redis URL,
    // identity): scripts get only their allowedEnvVars of it.
    script: { configFile: config.scriptConfigFile, maxOutputBytes: config.scriptMaxOutputBytes, parentEnv: withoutWorkerSecrets(process.env), sandbox },
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
  let identity;
  try {
    identity = await waitForIdentity(config.configDir, { waitMs: config.identityWaitMs, logger: log, signal: options.signal, fromEnv: config.runnerIdentity });
  } catch (error) {
    await registry.close();
    throw error;
  }
  // Key rotation: learn new control-plane keys (and retirements) from the runner's config.yaml.
  const keysReloader = new IdentityKeysReloader(config.configDir, config.runnerIdentity, log, (runnerId) => connection.get(keyAnswerKey(config.queuePrefix, runnerId)));
  const verifier: TaskVerifier = new TaskVerifier(identity.controlPlaneKeys, {
    retirements: identity.controlPlaneKeyRetirements ?? {},
    refreshKeys: () => keysReloader.keysFor(),
  });
  keysReloader.watch(() => verifier);
  const allowlistEntries = config.allowlist ?? identity.actionsAllowlist;
  const allowlist = new Allowlist(allowlistEntries);

  // BullMQ needs maxRetriesPerRequest: null so its blocking commands survive Redis restarts.
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (error: Error) => log.warn({ err: error.message }, 'redis connection error'));
  const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection, prefix: config.queuePrefix });

  const processor = createTaskProcessor({
    runnerId: identity.runnerId,
    verifier,
    allowlist,
    registry,
    configDir: config.configDir,
    limits: { httpMaxResponseBytes: config.httpMaxResponseBytes },
    maxAttempts: config.maxAttempts,
    logger: log,
    publishResult: async (result) => {
      await results.add(RESULT_JOB_NAME, result, resultJobOptions(result.taskId));
    },
  });

  const worker = new Worker<TaskJobData, TaskJobResult>(TASKS_QUEUE, processor, {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDuration: config.lockMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => log.error({ err: error.message }, 'worker error'));
  try {
    await worker.waitUntilReady();
  } catch (error) {
    await Promise.allSettled([worker.close(true), results.close(), registry.close()]);
    connection.disconnect();
    throw error;
  }
  log.info({ runnerId: identity.runnerId, concurrency: config.concurrency, allowlist: allowlist.entries, actions: registry.fqns }, 'worker ready');

  let closing: Promise<void> | undefined;
  return {
    cancel: (taskId, reason) => worker.cancelJob(taskId, reason),
    close: () => {
      closing ??= (async () => {
        keysReloader.stop();
        await worker.close();
        await results.close();
        await registry.close();
        await connection.quit().catch(() => connection.disconnect());
        log.info('worker closed');
      })();
      return closing;
    },
  };
}
