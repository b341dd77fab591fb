/**
 * Shared set-up for the control-plane integration tests: a control plane on its own Redis key
 * prefix (driven with inject(), no port), known admin keys, a clock that can jump forward, and
 * enrolled test runners with real Ed25519 keys, a token minter and a task verifier.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { controlPlaneConfigSchema, type ControlPlaneConfig } from '../../src/config/control-plane.js';
import {
  RUNNER_API,
  dequeueResponseSchema,
  enrollResponseSchema,
  heartbeatResponseSchema,
  type Delivery,
  type DequeueRequest,
  type EnrollResponse,
  type HeartbeatResponse,
} from '../../src/contracts/runner-api.js';
import type { TaskOutcome } from '../../src/contracts/task.js';
import { TASKS_API, taskViewSchema, type SubmitTaskRequest, type TaskView } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair, importSigningKey, type KeyPairJwk } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { TaskVerifier } from '../../src/crypto/task-signature.js';
import { createRootLogger, type Logger } from '../../src/logging/logger.js';
import { buildApp, type ControlPlaneApp } from '../../src/control-plane/app.js';
import { createControlPlaneDeps, type ControlPlaneContext, type ControlPlaneDeps } from '../../src/control-plane/deps.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';

export const silentLogger = createRootLogger({ process: 'test', level: 'silent' });

export interface InjectResult {
  statusCode: number;
  body: unknown;
}

export interface TestRunner {
  runnerId: string;
  name: string;
  enrollment: EnrollResponse;
  keyPair: KeyPairJwk;
  minter: RunnerTokenMinter;
  verifier: TaskVerifier;
  headers(): Promise<Record<string, string>>;
}

export interface Harness {
  prefix: string;
  redis: Redis;
  config: ControlPlaneConfig;
  context: ControlPlaneContext;
  deps: ControlPlaneDeps;
  app: ControlPlaneApp;
  apiKey: string;
  appKey: string;
  /** Moves the control plane's clock forward (real time keeps flowing too). */
  advance(ms: number): void;
  now(): number;
  appHeaders(): Record<string, string>;
  request(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<InjectResult>;
  enroll(name?: string): Promise<TestRunner>;
  submit(runner: TestRunner | string, overrides?: Partial<SubmitTaskRequest>): Promise<TaskView>;
  getTask(taskId: string, waitMs?: number): Promise<TaskView>;
  dequeue(runner: TestRunner, request?: DequeueRequest): Promise<Delivery[]>;
  heartbeat(runner: TestRunner, leases: { taskId: string; leaseToken: string }[]): Promise<HeartbeatResponse['leases']>;
  publish(runner: TestRunner, taskId: string, leaseToken: string, outcome?: TaskOutcome): Promise<InjectResult>;
  close(): Promise<void>;
}

export function succeeded(output: unknown = { ok: true }): TaskOutcome {
  return { kind: 'succeeded', output, attempts: 1, durationMs: 5 };
}

export async function startHarness(
  label: string,
  settings: Partial<Record<keyof ControlPlaneConfig, unknown>> = {},
  logger: Logger = silentLogger,
): Promise<Harness> {
  const prefix = uniquePrefix(`cp-${label}`);
  const redis = connectRedis();
  const apiKey = randomBytes(16).toString('hex');
  const appKey = randomBytes(20).toString('hex');
  const config = controlPlaneConfigSchema.parse({
    keyPrefix: prefix,
    adminApiKey: apiKey,
    adminAppKey: appKey,
    logLevel: 'silent',
    ...settings,
  });
  let offset = 0;
  const now = (): number => Date.now() + offset;
  const context = await createControlPlaneDeps({ config, redis, logger, now });
  const app = buildApp(context.deps);
  await app.ready();

  const request: Harness['request'] = async (method, url, options = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: options.headers ?? {},
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
    });
    const text = res.body;
    let body: unknown = text;
    if ((res.headers['content-type'] ?? '').toString().includes('json')) body = text.length > 0 ? JSON.parse(text) : undefined;
    return { statusCode: res.statusCode, body };
  };
  const appHeaders = (): Record<string, string> => ({ 'dd-application-key': appKey });

  const expectStatus = (res: InjectResult, status: number, what: string): void => {
    if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${JSON.stringify(res.body)}`);
  };

  const harness: Harness = {
    prefix,
    redis,
    config,
    context,
    deps: context.deps,
    app,
    apiKey,
    appKey,
    advance: (ms) => {
      offset += ms;
    },
    now,
    appHeaders,
    request,
    async enroll(name = `runner-${randomBytes(3).toString('hex')}`) {
      const keyPair = await generateSigningKeyPair();
      const res = await request('POST', RUNNER_API.enroll, {
        headers: { 'dd-api-key': apiKey, 'dd-application-key': appKey },
        body: { name, publicKey: keyPair.publicJwk, allowlist: ['com.datadoghq.http.*'], version: 'test' },
      });
      expectStatus(res, 201, 'enroll');
      const enrollment = enrollResponseSchema.parse(res.body);
      const minter = new RunnerTokenMinter(enrollment.runnerId, await importSigningKey(keyPair.privateJwk));
      return {
        runnerId: enrollment.runnerId,
        name,
        enrollment,
        keyPair,
        minter,
        verifier: new TaskVerifier(enrollment.controlPlaneKeys),
        headers: async () => ({ authorization: `Bearer ${await minter.token()}` }),
      };
    },
    async submit(runner, overrides = {}) {
      const res = await request('POST', TASKS_API.submit, {
        headers: appHeaders(),
        body: {
          runner: typeof runner === 'string' ? runner : runner.runnerId,
          action: 'com.datadoghq.http.request',
          inputs: { url: 'http://example.test/' },
          ...overrides,
        },
      });
      expectStatus(res, 201, 'submit');
      return taskViewSchema.parse(res.body);
    },
    async getTask(taskId, waitMs) {
      const res = await request('GET', `${TASKS_API.get(taskId)}${waitMs !== undefined ? `?wait=${waitMs}` : ''}`, {
        headers: appHeaders(),
      });
      expectStatus(res, 200, 'get task');
      return taskViewSchema.parse(res.body);
    },
    async dequeue(runner, body = { max: 10, waitMs: 0 }) {
      const res = await request('POST', RUNNER_API.dequeue, { headers: await runner.headers(), body });
      expectStatus(res, 200, 'dequeue');
      return dequeueResponseSchema.parse(res.body).tasks;
    },
    async heartbeat(runner, leases) {
      const res = await request('POST', RUNNER_API.heartbeat, { headers: await runner.headers(), body: { leases } });
      expectStatus(res, 200, 'heartbeat');
      return heartbeatResponseSchema.parse(res.body).leases;
    },
    async publish(runner, taskId, leaseToken, outcome = succeeded()) {
      return request('POST', RUNNER_API.result(taskId), { headers: await runner.headers(), body: { leaseToken, outcome } });
    },
    async close() {
      await app.close();
      await context.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
  return harness;
}
