/**
 * A worker running in-process against real Redis, with a real identity in a temp config dir and
 * a real task signer standing in for the control plane. Each harness has its own queue prefix
 * and removes its keys and files on close.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import type { TaskOutcome } from '../../src/contracts/task.js';
import { workerConfigSchema, type WorkerConfig } from '../../src/config/worker.js';
import { generateSigningKeyPair, importSigningKey, publicPart, type KeyPairJwk } from '../../src/crypto/keys.js';
import { TaskSigner, type UnsignedTaskClaims } from '../../src/crypto/task-signature.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { writeIdentity } from '../../src/lib/identity-file.js';
import { type RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { runWorker, type RunningWorker } from '../../workers/main.js';
import { TASK_JOB_NAME, taskJobOptions } from '../../src/contracts/job-options.js';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

export const RUNNER_ID = 'runner-test-1';
export const silentLogger = createRootLogger({ process: 'test', level: process.env['PAR_TEST_LOG_LEVEL'] ?? 'silent' });

export async function makeIdentity(controlPlane: KeyPairJwk, allowlist: string[]): Promise<RunnerIdentity> {
  const own = await generateSigningKeyPair();
  return {
    ddBaseURL: 'http://127.0.0.1:1',
    urn: `urn:dd:apps:on-prem-runner:us1:org-1:${RUNNER_ID}`,
    runnerId: RUNNER_ID,
    orgId: 'org-1',
    runnerName: 'test-runner',
    modes: ['pull'],
    actionsAllowlist: allowlist,
    privateKey: own.privateJwk as RunnerIdentity['privateKey'],
    publicKey: own.publicJwk as RunnerIdentity['publicKey'],
    controlPlaneKeys: { keys: [publicPart(controlPlane.publicJwk) as RunnerIdentity['publicKey']] },
    enrolledAt: new Date().toISOString(),
  };
}

export interface HarnessOptions {
  /** Allowlist written in the identity file (the worker config's allowlist stays unset). */
  identityAllowlist?: string[];
  config?: Partial<Record<keyof WorkerConfig, unknown>>;
}

export interface WorkerHarness {
  prefix: string;
  configDir: string;
  config: WorkerConfig;
  controlPlane: KeyPairJwk;
  signer: TaskSigner;
  worker: RunningWorker;
  tasks: Queue<TaskJobData>;
  results: Queue<ResultJobData>;
  redis: Redis;
  sign(claims: Partial<UnsignedTaskClaims> & { sub: string; action: string }): Promise<string>;
  /** Signs and enqueues a task the way the runner does. */
  submit(claims: Partial<UnsignedTaskClaims> & { sub: string; action: string }): Promise<void>;
  enqueueSigned(taskId: string, signedTask: string): Promise<void>;
  waitResult(taskId: string, timeoutMs?: number): Promise<TaskOutcome>;
  close(): Promise<void>;
}

let counter = 0;
export function newTaskId(): string {
  counter += 1;
  return `tsk_${Date.now().toString(36)}_${counter}`;
}

export async function startWorkerHarness(label: string, options: HarnessOptions = {}): Promise<WorkerHarness> {
  const prefix = uniquePrefix(label);
  const dir = await tempDir(label);
  const controlPlane = await generateSigningKeyPair();
  await writeIdentity(dir.path, await makeIdentity(controlPlane, options.identityAllowlist ?? ['com.datadoghq.http.*']));
  const signer = new TaskSigner(await importSigningKey(controlPlane.privateJwk), controlPlane.kid);
  const config = workerConfigSchema.parse({
    configDir: dir.path,
    redisUrl: TEST_REDIS_URL,
    queuePrefix: prefix,
    concurrency: 4,
    maxAttempts: 3,
    retryBackoffMs: 20,
    logLevel: 'silent',
    ...options.config,
  });
  const worker = await runWorker(config, silentLogger);
  const redis = connectRedis();
  const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix });
  const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix });

  const sign: WorkerHarness['sign'] = (claims) =>
    signer.sign({ aud: RUNNER_ID, org: 'org-1', inputs: {}, timeoutMs: 5_000, ...claims }, 60_000);
  const enqueueSigned = async (taskId: string, signedTask: string) => {
    await tasks.add(TASK_JOB_NAME, { taskId, signedTask, deliveryAttempt: 1, acceptedAt: Date.now() }, taskJobOptions(config, taskId));
  };

  return {
    prefix,
    configDir: dir.path,
    config,
    controlPlane,
    signer,
    worker,
    tasks,
    results,
    redis,
    sign,
    submit: async (claims) => enqueueSigned(claims.sub, await sign(claims)),
    enqueueSigned,
    waitResult: async (taskId, timeoutMs = 5_000) => {
      const job = await waitUntil<Job<ResultJobData>>(
        async () => (await results.getJob(taskId)) ?? undefined,
        timeoutMs,
        `result of ${taskId}`,
        20,
      );
      return job.data.outcome;
    },
    close: async () => {
      await worker.close();
      await tasks.close();
      await results.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
      await dir.remove();
    },
  };
}
