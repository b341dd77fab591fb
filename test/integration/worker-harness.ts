/**
 * A worker running in-process against real Redis, with a real identity in a temp config dir.
 * `submit` queues a task the way the runner's intake does after verifying it: the claims as a
 * job tagged with the key derived from the identity (src/crypto/task-job-tag.ts). Each harness
 * has its own queue prefix and removes its keys and files on close.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import type { TaskOutcome } from '../../src/contracts/task.js';
import { workerConfigSchema, type WorkerConfig } from '../../src/config/worker.js';
import { generateSigningKeyPair, publicPart, type KeyPairJwk } from '../../src/crypto/keys.js';
import { deriveQueueKey, taggedTaskJob, type QueueKey } from '../../src/crypto/task-job-tag.js';
import { claimsToTask, type TaskClaims } from '../../src/contracts/task.js';
import { TASK_ISSUER } from '../../src/contracts/runner-api.js';
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
  identity: RunnerIdentity;
  /** The key the runner's intake would tag jobs with (derived from the identity). */
  queueKey: QueueKey;
  worker: RunningWorker;
  tasks: Queue<TaskJobData>;
  results: Queue<ResultJobData>;
  redis: Redis;
  /** The job data intake would queue for these claims, tagged with `key` (default: the runner's). */
  jobData(claims: TaskClaimsInput, key?: QueueKey): TaskJobData;
  /** Queues a task the way the runner's intake does. */
  submit(claims: TaskClaimsInput): Promise<void>;
  /** Puts `data` on the queue as it is, under job id `jobId` (what anyone who can write to Redis can do). */
  enqueueJob(jobId: string, data: unknown): Promise<void>;
  waitResult(taskId: string, timeoutMs?: number): Promise<TaskOutcome>;
  close(): Promise<void>;
}

type TaskClaimsInput = Partial<TaskClaims> & { sub: string; action: string };

let counter = 0;
export function newTaskId(): string {
  counter += 1;
  return `tsk_${Date.now().toString(36)}_${counter}`;
}

export async function startWorkerHarness(label: string, options: HarnessOptions = {}): Promise<WorkerHarness> {
  const prefix = uniquePrefix(label);
  const dir = await tempDir(label);
  const controlPlane = await generateSigningKeyPair();
  const identity = await makeIdentity(controlPlane, options.identityAllowlist ?? ['com.datadoghq.http.*']);
  await writeIdentity(dir.path, identity);
  const queueKey = deriveQueueKey(identity);
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

  const jobData: WorkerHarness['jobData'] = (claims, key = queueKey) => {
    const iat = Math.floor(Date.now() / 1000);
    const task = claimsToTask({
      iss: TASK_ISSUER,
      aud: RUNNER_ID,
      org: 'org-1',
      inputs: {},
      timeoutMs: 5_000,
      iat,
      exp: iat + 60,
      ...claims,
    });
    return taggedTaskJob(key, { taskId: claims.sub, task, deliveryAttempt: 1, acceptedAt: Date.now() });
  };
  const enqueueJob = async (jobId: string, data: unknown) => {
    await tasks.add(TASK_JOB_NAME, data as TaskJobData, taskJobOptions(config, jobId));
  };

  return {
    prefix,
    configDir: dir.path,
    config,
    identity,
    queueKey,
    worker,
    tasks,
    results,
    redis,
    jobData,
    submit: (claims) => enqueueJob(claims.sub, jobData(claims)),
    enqueueJob,
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
