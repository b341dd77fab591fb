/**
 * The runner process's composition root. Enrolls (or loads the identity), then wires: the BullMQ
 * queues on the runner's Redis, intake, the long-poll loop, the lease keeper, the result publisher
 * and the loopback admin server. Signal handling belongs to the CLI, which calls close().
 */
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { createRedisConnection, type Redis } from '../lib/redis-connection.js';
import { taskJobOptions } from '../contracts/job-options.js';
import { Allowlist } from '../actions/allowlist.js';
import type { RunnerConfig } from '../config/runner.js';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../contracts/jobs.js';
import { importSigningKey } from '../crypto/keys.js';
import { RunnerTokenMinter } from '../crypto/runner-token.js';
import { TaskVerifier } from '../crypto/task-signature.js';
import type { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import { startAdminServer } from './admin-server.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { ControlPlaneProbe } from './control-plane-probe.js';
import { crashHook } from '../lib/crash-points.js';
import { drain } from './drain.js';
import { enrollRunner } from './enroll-runner.js';
import { HealthReporter, platformDescription, snapshotRunnerHealth } from './health-reporter.js';
import type { RunnerIdentity } from '../contracts/runner-identity.js';
import { TaskIntake } from './intake.js';
import { registerIdentityRoute } from './admin-identity-route.js';
import { recoverPendingIdentity, type IdentityRotationDeps } from './identity-rotation.js';
import { IdentityStore } from './identity-store.js';
import { KeyManager } from './key-manager.js';
import { verifierKeys } from '../crypto/task-signature.js';
import { deriveQueueKey } from '../crypto/task-job-tag.js';
import { LeaseKeeper } from './lease-keeper.js';
import { forwardCancels } from './cancel-forwarder.js';
import { LeaseReconciler, reportWorkerLost } from './lease-reconciler.js';
import { LeaseStore } from './lease-store.js';
import { PollLoop } from './poll-loop.js';
import { ResultPublisher } from './result-publisher.js';
import { settleWithin } from '../lib/timing.js';
import { openRunnerAudit } from './audit/runner-audit.js';
import { PACKAGE_VERSION } from '../version.js';
import { createRunnerMetrics } from './metrics.js';

export interface RunningRunner {
  identity: RunnerIdentity;
  /** Base URL of the admin server (`/healthz`, `/readyz`, `/queues`). */
  adminUrl: string;
  /**
   * Graceful drain (drain.ts): stops polling, hands unstarted tasks back, keeps heartbeating and
   * publishing for running ones until they finish or `PAR_RUNNER_DRAIN_MS`, closes everything. Idempotent.
   */
  close(): Promise<void>;
  /** Resolves when the runner must stop (the control plane no longer recognises it). */
  fatal: Promise<ParError>;
}

/** How long close() lets in-flight result publications finish. */
const PUBLISH_DRAIN_MS = 2000;
const REDIS_PING_TIMEOUT_MS = 1000;

export async function runRunner(config: RunnerConfig, logger: Logger): Promise<RunningRunner> {
  const client = new ControlPlaneClient({ baseUrl: config.controlPlaneUrl });
  let identity: RunnerIdentity;
  try {
    ({ identity } = await enrollRunner(config, client, logger.child({ component: 'enrollment' })));
  } catch (error) {
    await client.close();
    throw error;
  }
  const log = logger.child({ component: 'runner', runnerId: identity.runnerId });
  client.setTokenSource(new RunnerTokenMinter(identity.runnerId, await importSigningKey(identity.privateKey)));
  // Key rotation: config.yaml changes only through this store (signing keys learnt, identity rotated).
  const identityStore = await IdentityStore.open(identity, config.configDir);
  const rotationDeps: IdentityRotationDeps = { store: identityStore, client, logger: logger.child({ component: 'identity-rotation' }) };
  await recoverPendingIdentity(rotationDeps);
  const keyManager: KeyManager = new KeyManager({
    store: identityStore,
    client,
    verifier: (): TaskVerifier => verifier,
    refreshMs: config.keysRefreshMs,
    logger: logger.child({ component: 'control-plane-keys' }),
  });
  const pinned = verifierKeys(identityStore.current);
  const verifier: TaskVerifier = new TaskVerifier(pinned.keys, {
    ...(pinned.retirements ? { retirements: pinned.retirements } : {}),
    refreshKeys: (kid) => keyManager.keysFor(kid),
  });

  const allowlistEntries = config.allowlist ?? identity.actionsAllowlist;
  const allowlist = new Allowlist(allowlistEntries);
  log.info(
    { runnerName: identity.runnerName, allowlist: allowlist.entries, allowlistFrom: config.allowlist ? 'environment' : 'config.yaml' },
    'runner identity loaded',
  );
  if (allowlist.entries.length === 0)
    log.warn('the actions allowlist is empty: every task will be rejected (set ACTIONS_ALLOWLIST or actionsAllowlist in config.yaml)');

  let audit: Awaited<ReturnType<typeof openRunnerAudit>>;
  try {
    audit = await openRunnerAudit({
      dir: config.auditDir ?? join(config.configDir, 'audit'),
      runnerId: identity.runnerId,
      privateKey: identity.privateKey,
      checkpointEvery: config.auditCheckpointEvery,
      checkpointIntervalMs: config.auditCheckpointIntervalMs,
      maxFileBytes: config.auditMaxFileBytes,
      logger: logger.child({ component: 'audit' }),
    });
  } catch (error) {
    await client.close();
    throw error;
  }
  // A rotated identity signs the audit checkpoints from then on (one checkpoint signed by both keys).
  rotationDeps.onAdopted = (privateKey) => audit.rotateKey(privateKey);

  const redis = createRedisConnection(config.redisUrl, { maxRetriesPerRequest: null });
  let lastRedisError = 0;
  redis.on('error', (error: Error) => {
    // ioredis reconnects by itself; one line every 10 s is enough to explain a stall.
    if (Date.now() - lastRedisError > 10_000) log.warn({ err: error }, 'runner Redis error');
    lastRedisError = Date.now();
  });
  const queueOptions = { connection: redis, prefix: config.queuePrefix };
  const tasksQueue = new Queue<TaskJobData>(TASKS_QUEUE, queueOptions);
  const resultsQueue = new Queue<ResultJobData>(RESULTS_QUEUE, queueOptions);
  const leases = new LeaseStore(redis, config.queuePrefix, identity.runnerId);
  const metrics = createRunnerMetrics({ queues: [tasksQueue, resultsQueue], outbox: resultsQueue, audit: audit.log });

  let resolveFatal: (error: ParError) => void = () => undefined;
  const fatal = new Promise<ParError>((resolve) => {
    resolveFatal = resolve;
  });
  let fatalError: ParError | undefined;
  const onFatal = (error: ParError): void => {
    if (fatalError) return;
    fatalError = error;
    void pollLoop.stop();
    resolveFatal(error);
  };
  const crash = crashHook(config.testCrashAt);
  if (config.testCrashAt)
    log.warn({ crashAt: config.testCrashAt }, 'PAR_TEST_CRASH_AT is set: this runner exits at that point (tests only)');

  const reconciler = new LeaseReconciler(redis, config.queuePrefix);
  const retryPolicy = { maxAttempts: config.maxAttempts, retryBackoffMs: config.retryBackoffMs };
  const intake = new TaskIntake({
    runnerId: identity.runnerId,
    leases,
    tasksQueue,
    resultsQueue,
    verifier,
    // Follows identity rotation: derived once per identity key (task-job-tag.ts caches it).
    queueKey: () => deriveQueueKey(identityStore.current),
    allowlist,
    taskJobOptions: (taskId) => taskJobOptions(retryPolicy, taskId),
    logger: logger.child({ component: 'intake' }),
    crash,
    inspect: (entries) => reconciler.inspect(entries),
    audit: audit.tasks,
  });
  const health: HealthReporter = new HealthReporter({
    send: (report, signal) => client.health(report, signal),
    snapshot: () =>
      snapshotRunnerHealth({
        pingRedis: () => pingWithin(redis, REDIS_PING_TIMEOUT_MS),
        countInFlight: () => tasksQueue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized'),
        pollStatus: () => pollLoop.status,
      }),
    version: PACKAGE_VERSION,
    platform: platformDescription(),
    allowlist: allowlist.entries,
    capacity: config.capacity,
    intervalMs: config.healthIntervalMs,
    logger: logger.child({ component: 'health' }),
    // While polling, checks ride on the polls; the reporter sends them apart otherwise.
    carrier: () => pollLoop.carrying,
  });

  const pollLoop = new PollLoop({
    dequeue: (request, signal) => client.dequeue(request, signal),
    intake: async (deliveries) => {
      for (const d of deliveries) leaseKeeper.observeLeaseExpiry(d.leaseExpiresAt);
      metrics.deliveries.inc(deliveries.length);
      const again = deliveries.filter((d) => d.attempt > 1).length;
      if (again > 0) metrics.redeliveries.inc(again);
      const report = await intake.accept(deliveries);
      if (report.accepted.length > 0) metrics.intake.inc({ verdict: 'accepted', code: '' }, report.accepted.length);
      for (const r of report.rejected) metrics.intake.inc({ verdict: 'rejected', code: r.error.code });
      return report;
    },
    inFlight: () => tasksQueue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized'),
    onFatal,
    onUnreachable: () => probe.unreachable(),
    forwardCancels: (taskIds) => forwardCancels(redis, config.queuePrefix, taskIds),
    health,
    capacity: config.capacity,
    waitMs: config.pollWaitMs,
    backoffMaxMs: config.pollBackoffMaxMs,
    logger: logger.child({ component: 'poll-loop' }),
  });
  const leaseKeeper = new LeaseKeeper({
    leases,
    heartbeat: (entries) => client.heartbeat(entries),
    intervalMs: config.heartbeatIntervalMs,
    onFatal,
    logger: logger.child({ component: 'lease-keeper' }),
    inspect: (entries) => reconciler.inspect(entries),
    reportLost: (lost) => reportWorkerLost(resultsQueue, lost),
    inIntake: () => intake.inProgress,
    forwardCancels: (taskIds) => forwardCancels(redis, config.queuePrefix, taskIds),
  });
  const publisher = new ResultPublisher({
    connection: redis,
    queuePrefix: config.queuePrefix,
    leases,
    publish: (items, signal) => client.publishMany(items, signal),
    publishBackoffMaxMs: config.publishBackoffMaxMs,
    onFatal,
    onUnreachable: () => probe.unreachable(),
    promoteParked: () => resultsQueue.promoteJobs(),
    lockMs: config.resultsLockMs,
    crash,
    onPublished: (status) => metrics.published.inc({ status }),
    logger: logger.child({ component: 'result-publisher' }),
    audit: audit.tasks,
  });
  const probe = new ControlPlaneProbe({
    probe: (signal) => client.probe(signal),
    intervalMs: config.probeIntervalMs,
    onBack: () => {
      pollLoop.wake();
      void publisher.wake();
      leaseKeeper.kick();
    },
    logger: logger.child({ component: 'control-plane-probe' }),
  });

  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  try {
    admin = await startAdminServer({
      host: config.adminHost,
      port: config.adminPort,
      queues: [tasksQueue, resultsQueue],
      readOnly: config.dashboardReadOnly,
      logger: logger.child({ component: 'admin' }),
      routes: (app) => registerIdentityRoute(app, rotationDeps),
      metrics: metrics.registry,
      readiness: {
        audit: audit.readiness,
        enrolled: () => ({ ok: true, detail: identity.runnerId }),
        redis: async () => ({ ok: (await pingWithin(redis, REDIS_PING_TIMEOUT_MS)) === 'PONG' }),
        controlPlane: () => {
          const status = pollLoop.status;
          if (fatalError) return { ok: false, detail: fatalError.code };
          if (status.at === undefined) return { ok: false, detail: 'first poll pending' };
          return status.ok
            ? { ok: true }
            : { ok: false, detail: `${status.error?.code ?? 'error'} (${status.consecutiveFailures} failed polls)` };
        },
      },
    });
  } catch (error) {
    probe.stop();
    await Promise.allSettled([publisher.close(0), tasksQueue.close(), resultsQueue.close(), client.close(), audit.log.close()]);
    redis.disconnect();
    throw error;
  }

  keyManager.start();
  pollLoop.start();
  leaseKeeper.start();
  health.start();
  log.info({ adminUrl: admin.url, controlPlaneUrl: config.controlPlaneUrl, capacity: config.capacity }, 'runner started');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await pollLoop.stop();
      log.info({ drainMs: config.drainMs }, 'draining: unstarted tasks go back, running ones finish');
      // A runner the control plane no longer knows cannot publish: no point waiting for results.
      await drain({ tasksQueue, resultsQueue, leases, logger: log }, fatalError ? 0 : config.drainMs);
      probe.stop();
      await keyManager.stop();
      await Promise.all([leaseKeeper.stop(), health.stop()]);
      await settleWithin(publisher.close(PUBLISH_DRAIN_MS), PUBLISH_DRAIN_MS + 3000);
      await settleWithin(audit.log.close(), 3000);
      await Promise.allSettled([admin.close(), settleWithin(Promise.all([tasksQueue.close(), resultsQueue.close()]), 3000)]);
      await client.close();
      // quit() waits for Redis; when it is unreachable, drop the connection instead.
      if (!(await settleWithin(redis.quit(), 1000))) redis.disconnect();
      log.info('runner stopped');
    })();
    return closing;
  };
  return { identity, adminUrl: admin.url, close, fatal };
}

function pingWithin(redis: Redis, ms: number): Promise<string> {
  return Promise.race([
    redis.ping(),
    new Promise<string>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);
}
