/**
 * The runner against the real control plane (HTTP on a loopback port, real Redis): enrollment
 * and identity reuse, a refused key, task intake, result publication, and results produced while
 * the control plane is down.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { request } from 'undici';
import { loadControlPlaneConfig } from '../../src/config/control-plane.js';
import { loadRunnerConfig, type RunnerConfig } from '../../src/config/runner.js';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import { TASKS_API, taskEventsPath, taskEventsResponseSchema, taskViewSchema, type TaskView } from '../../src/contracts/tasks-api.js';
import { runControlPlane, type RunningControlPlane } from '../../src/control-plane/server.js';
import { isParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { identityPath } from '../../src/lib/identity-file.js';
import { runRunner } from '../../src/runner/main.js';
import { RESULT_JOB_NAME, resultJobOptions } from '../../src/contracts/job-options.js';
import { TEST_REDIS_URL, connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const redis = connectRedis();
const apiKey = randomBytes(16).toString('hex');
const appKey = randomBytes(20).toString('hex');
const cleanups: Array<() => Promise<unknown>> = [];

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await redis.quit();
});

async function startControlPlane(keyPrefix: string, port = 0): Promise<RunningControlPlane> {
  return runControlPlane(
    loadControlPlaneConfig(
      {},
      {
        port,
        keyPrefix,
        adminApiKey: apiKey,
        adminAppKey: appKey,
        redisUrl: TEST_REDIS_URL,
        logLevel: 'silent',
        leaseMs: 5000,
      },
    ),
    logger,
  );
}

async function setup(label: string): Promise<{
  cp: RunningControlPlane;
  cpPrefix: string;
  queuePrefix: string;
  configDir: string;
  config(overrides?: Record<string, unknown>): RunnerConfig;
}> {
  const cpPrefix = uniquePrefix(`runner-cp-${label}`);
  const queuePrefix = uniquePrefix(`runner-q-${label}`);
  const dir = await tempDir(`runner-${label}`);
  const cp = await startControlPlane(cpPrefix);
  cleanups.push(
    () => dir.remove(),
    () => deleteKeys(redis, cpPrefix),
    () => deleteKeys(redis, queuePrefix),
  );
  const config = (overrides: Record<string, unknown> = {}): RunnerConfig =>
    loadRunnerConfig(
      {},
      {
        controlPlaneUrl: cp.url,
        apiKey,
        appKey,
        runnerName: `edge-${label}`,
        configDir: dir.path,
        redisUrl: TEST_REDIS_URL,
        queuePrefix,
        adminPort: 0,
        allowlist: ['com.datadoghq.http.*'],
        pollWaitMs: 300,
        pollBackoffMaxMs: 100,
        heartbeatIntervalMs: 200,
        enrollBackoffMaxMs: 50,
        publishBackoffMaxMs: 100,
        withApiKey: true,
        logLevel: 'silent',
        ...overrides,
      },
    );
  return { cp, cpPrefix, queuePrefix, configDir: dir.path, config };
}

async function api(baseUrl: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await request(`${baseUrl}${path}`, {
    method,
    headers: { 'dd-application-key': appKey, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

async function submitTask(baseUrl: string, runner: string): Promise<TaskView> {
  const res = await api(baseUrl, 'POST', TASKS_API.submit, {
    runner,
    action: 'com.datadoghq.http.request',
    inputs: { url: 'http://127.0.0.1:1/' },
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return taskViewSchema.parse(res.json);
}

async function getTask(baseUrl: string, taskId: string): Promise<TaskView> {
  const res = await api(baseUrl, 'GET', TASKS_API.get(taskId));
  assert.equal(res.status, 200);
  return taskViewSchema.parse(res.json);
}

async function resultEvents(baseUrl: string, taskId: string): Promise<string[]> {
  const res = await api(baseUrl, 'GET', taskEventsPath(taskId));
  assert.equal(res.status, 200);
  return taskEventsResponseSchema
    .parse(res.json)
    .events.map((e) => e.type)
    .filter((t) => t.startsWith('result.'));
}

async function httpStatus(url: string): Promise<number> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
}

test('first start enrolls and writes config.yaml (0600); readyz, healthz and the dashboard answer; a restart reuses the identity', async () => {
  const s = await setup('enroll');
  cleanups.push(() => s.cp.close());
  const first = await runRunner(s.config(), logger);
  let firstId: string;
  try {
    firstId = first.identity.runnerId;
    const file = await stat(identityPath(s.configDir));
    assert.equal(file.mode & 0o777, 0o600);
    const text = await readFile(identityPath(s.configDir), 'utf8');
    assert.match(text, /actionsAllowlist:\n\s+- com\.datadoghq\.http\.\*/);
    assert.ok(!text.includes(apiKey) && !text.includes(appKey), 'keys are not written to config.yaml');
    assert.ok(first.adminUrl.startsWith('http://127.0.0.1:'));
    assert.equal(await httpStatus(`${first.adminUrl}/healthz`), 200);
    await waitUntil(async () => ((await httpStatus(`${first.adminUrl}/readyz`)) === 200 ? true : undefined), 5000, 'readyz 200');
    assert.equal(await httpStatus(`${first.adminUrl}/queues`), 200);
    const board = await request(`${first.adminUrl}/queues/api/queues`);
    const boardJson = (await board.body.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    assert.deepEqual(
      boardJson.queues.map((q) => [q.name, q.readOnlyMode]).sort(),
      [
        ['results', true],
        ['tasks', true],
      ],
      'both queues, read-only',
    );
  } finally {
    await first.close();
  }
  // Restart with no keys at all: the identity on disk is enough.
  const second = await runRunner(s.config({ apiKey: undefined, appKey: undefined, withApiKey: false }), logger);
  try {
    assert.equal(second.identity.runnerId, firstId);
  } finally {
    await second.close();
  }
});

test('a refused application key fails fast with a message naming DD_APP_KEY, never the key', async () => {
  const s = await setup('badkey');
  cleanups.push(() => s.cp.close());
  const wrong = randomBytes(20).toString('hex');
  const started = Date.now();
  await assert.rejects(runRunner(s.config({ appKey: wrong }), logger), (error: unknown) => {
    assert.ok(isParError(error));
    assert.equal(error.code, 'PAR_ERR_AUTH_APP_KEY_INVALID');
    assert.match(error.message, /DD_APP_KEY/);
    assert.ok(!error.message.includes(wrong));
    return true;
  });
  assert.ok(Date.now() - started < 3000, 'no retries on a refused key');
  await assert.rejects(stat(identityPath(s.configDir)), /ENOENT/);
});

test('a task submitted to the control plane reaches `tasks`; its result on `results` is recorded once', async () => {
  const s = await setup('roundtrip');
  cleanups.push(() => s.cp.close());
  const runner = await runRunner(s.config(), logger);
  const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix: s.queuePrefix });
  const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix: s.queuePrefix });
  try {
    const task = await submitTask(s.cp.url, runner.identity.runnerName);
    const job = await waitUntil(() => tasks.getJob(task.id), 5000, 'task job');
    assert.equal(job.data.taskId, task.id);
    assert.equal((await getTask(s.cp.url, task.id)).state, 'leased');
    // What a worker does when the action finishes.
    await results.add(
      RESULT_JOB_NAME,
      { taskId: task.id, outcome: { kind: 'succeeded', output: { status: 200 }, attempts: 1, durationMs: 4 } },
      resultJobOptions(task.id),
    );
    const done = await waitUntil(
      async () => {
        const t = await getTask(s.cp.url, task.id);
        return t.state === 'succeeded' ? t : undefined;
      },
      5000,
      'result recorded',
    );
    assert.deepEqual(done.outcome?.output, { status: 200 });
    await waitUntil(async () => ((await (await results.getJob(task.id))?.isCompleted()) ? true : undefined), 5000, 'result job completed');
    assert.deepEqual(await resultEvents(s.cp.url, task.id), ['result.recorded']);
  } finally {
    await runner.close();
    await tasks.close();
    await results.close();
  }
});

test('results produced while the control plane is down are delivered once after it restarts on the same port', async () => {
  const s = await setup('outage');
  let cp = s.cp;
  cleanups.push(() => cp.close());
  const port = Number(new URL(cp.url).port);
  const runner = await runRunner(s.config(), logger);
  const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix: s.queuePrefix });
  const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix: s.queuePrefix });
  try {
    const a = await submitTask(cp.url, runner.identity.runnerName);
    const b = await submitTask(cp.url, runner.identity.runnerName);
    await waitUntil(async () => ((await tasks.getJob(a.id)) && (await tasks.getJob(b.id)) ? true : undefined), 5000, 'both task jobs');

    await cp.close();
    for (const t of [a, b]) {
      await results.add(
        RESULT_JOB_NAME,
        { taskId: t.id, outcome: { kind: 'succeeded', output: { id: t.id }, attempts: 1, durationMs: 1 } },
        resultJobOptions(t.id),
      );
    }
    // The publisher tries, fails, and keeps the results as delayed jobs in Redis.
    await waitUntil(
      async () => ((await results.getJobCountByTypes('delayed')) === 2 ? true : undefined),
      5000,
      'results parked while down',
    );
    // ...and tries again while the control plane is still down (publishBackoffMaxMs is 100 ms), still without success.
    await waitUntil(
      async () => {
        const jobs = await Promise.all([a, b].map((t) => results.getJob(t.id)));
        return jobs.every((j) => (j?.attemptsStarted ?? 0) >= 2) ? true : undefined;
      },
      5000,
      'each result retried during the outage',
    );
    assert.equal((await results.getJobCounts('completed'))['completed'], 0);

    cp = await startControlPlane(s.cpPrefix, port);
    for (const t of [a, b]) {
      const done = await waitUntil(
        async () => {
          const v = await getTask(cp.url, t.id);
          return v.state === 'succeeded' ? v : undefined;
        },
        10_000,
        `result of ${t.id}`,
      );
      assert.deepEqual(done.outcome?.output, { id: t.id });
      assert.deepEqual(await resultEvents(cp.url, t.id), ['result.recorded'], 'recorded exactly once');
    }
    await waitUntil(
      async () => ((await results.getJobCounts('completed'))['completed'] === 2 ? true : undefined),
      5000,
      'both result jobs completed',
    );
  } finally {
    await runner.close();
    await tasks.close();
    await results.close();
  }
});

test('a control plane that does not know the runner makes `fatal` resolve (enrolled elsewhere)', async () => {
  const s = await setup('unknown');
  cleanups.push(() => s.cp.close());
  const enrolled = await runRunner(s.config(), logger);
  await enrolled.close();
  // Another control plane (its own key space) has never seen this runner.
  const otherPrefix = uniquePrefix('runner-cp-other');
  const other = await startControlPlane(otherPrefix);
  cleanups.push(
    () => other.close(),
    () => deleteKeys(redis, otherPrefix),
  );
  const runner = await runRunner(s.config({ controlPlaneUrl: other.url }), logger);
  try {
    const fatal = await Promise.race([runner.fatal, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000).unref())]);
    assert.equal(fatal?.code, 'PAR_ERR_AUTH_RUNNER_UNKNOWN');
  } finally {
    await runner.close();
  }
});

test('an action removed from the allowlist (env, restart) is rejected on the runner and reported with its code', async () => {
  const s = await setup('allowlist');
  cleanups.push(() => s.cp.close());
  const first = await runRunner(s.config(), logger);
  const name = first.identity.runnerName;
  await first.close();
  // ACTIONS_ALLOWLIST now admits only testConnection; the control plane still has the enrolled list.
  const runner = await runRunner(s.config({ allowlist: ['com.datadoghq.http.testConnection'] }), logger);
  const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix: s.queuePrefix });
  try {
    const task = await submitTask(s.cp.url, name);
    const done = await waitUntil(
      async () => {
        const t = await getTask(s.cp.url, task.id);
        return t.state === 'failed' ? t : undefined;
      },
      5000,
      'rejection recorded',
    );
    assert.equal(done.outcome?.kind, 'rejected');
    assert.equal(done.outcome.error?.code, 'PAR_ERR_ACTION_NOT_ALLOWLISTED');
    assert.equal(await tasks.getJob(task.id), undefined, 'never queued for a worker');
  } finally {
    await runner.close();
    await tasks.close();
  }
});

test('without an identity, a missing RUNNER_NAME or missing keys fail with messages naming the settings', async () => {
  const s = await setup('nosettings');
  cleanups.push(() => s.cp.close());
  await assert.rejects(runRunner(s.config({ runnerName: undefined }), logger), (error: unknown) => {
    assert.ok(isParError(error));
    assert.equal(error.code, 'PAR_ERR_CONFIG_INVALID');
    assert.match(error.message, /RUNNER_NAME/);
    return true;
  });
  await assert.rejects(runRunner(s.config({ apiKey: undefined, appKey: undefined, withApiKey: false }), logger), (error: unknown) => {
    assert.ok(isParError(error));
    assert.match(error.message, /DD_API_KEY.*DD_APP_KEY.*--with-api-key/);
    return true;
  });
});
