/**
 * The runner publishes its results in batches, against the real control plane (HTTP on loopback,
 * real Redis): 64 results queued at once go out in a few requests and each task is recorded once;
 * answers lost on the way back (the control plane recorded, the runner saw a reset) and a control
 * plane that stops answering mid-run make the runner retry the whole batch, and still every task
 * is recorded exactly once and none is lost. Between the runner and the control plane sits a
 * loopback proxy (this file) that can lose the answers to batch publishes, or refuse everything.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { request } from 'undici';
import { loadControlPlaneConfig } from '../../src/config/control-plane.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { RESULTS_QUEUE, TASKS_QUEUE, leasesKey, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import { RESULT_JOB_NAME, resultJobOptions } from '../../src/contracts/job-options.js';
import { RUNNER_API } from '../../src/contracts/runner-api.js';
import { TASKS_API, taskEventsPath, taskEventsResponseSchema, taskViewSchema } from '../../src/contracts/tasks-api.js';
import { runControlPlane, type RunningControlPlane } from '../../src/control-plane/server.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { runRunner, type RunningRunner } from '../../src/runner/main.js';
import { scrape, sampleSum, type Sample } from '../helpers/prometheus.js';
import { TEST_REDIS_URL, connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const redis = connectRedis();
const apiKey = randomBytes(16).toString('hex');
const appKey = randomBytes(20).toString('hex');
const cpPrefix = uniquePrefix('batch-cp');
const queuePrefix = uniquePrefix('batch-q');

/**
 * What the proxy does: forward; forward batch publishes but lose their answers; refuse everything;
 * answer batch publishes 404 as a control plane older than the batch route does.
 */
type ProxyMode = { kind: 'forward' } | { kind: 'lose-batch-answers'; left: number } | { kind: 'down' } | { kind: 'no-batch-route' };

let cp: RunningControlPlane;
let proxy: Server;
let proxyMode: ProxyMode = { kind: 'forward' };
let runner: RunningRunner;
let tasks: Queue<TaskJobData>;
let results: Queue<ResultJobData>;
let dir: Awaited<ReturnType<typeof tempDir>>;

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (proxyMode.kind === 'down') {
    req.socket.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (req.url === RUNNER_API.results && proxyMode.kind === 'no-batch-route') {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'PAR_ERR_NOT_FOUND', message: `POST ${RUNNER_API.results}`, retryable: false }));
    return;
  }
  const body = Buffer.concat(chunks);
  const headers = { ...req.headers };
  delete headers.host;
  delete headers.connection;
  const upstream = await request(`${cp.url}${req.url ?? '/'}`, {
    method: req.method as 'GET' | 'POST',
    headers,
    ...(req.method === 'POST' ? { body } : {}),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const text = await upstream.body.text();
  if (req.url === RUNNER_API.results && proxyMode.kind === 'lose-batch-answers' && proxyMode.left > 0) {
    // The control plane has answered (and recorded); the runner never hears it.
    proxyMode.left -= 1;
    req.socket.destroy();
    return;
  }
  const contentType = upstream.headers['content-type'];
  res.writeHead(upstream.statusCode, typeof contentType === 'string' ? { 'content-type': contentType } : {});
  res.end(text);
}

before(async () => {
  cp = await runControlPlane(
    loadControlPlaneConfig(
      {},
      {
        port: 0,
        keyPrefix: cpPrefix,
        adminApiKey: apiKey,
        adminAppKey: appKey,
        redisUrl: TEST_REDIS_URL,
        logLevel: 'silent',
        leaseMs: 10_000,
      },
    ),
    logger,
  );
  proxy = createServer((req, res) => {
    forward(req, res).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  dir = await tempDir('batch-runner');
  runner = await runRunner(
    loadRunnerConfig(
      {},
      {
        controlPlaneUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        apiKey,
        appKey,
        runnerName: 'edge-batch',
        configDir: dir.path,
        redisUrl: TEST_REDIS_URL,
        queuePrefix,
        adminPort: 0,
        allowlist: ['com.datadoghq.http.*'],
        capacity: 200,
        pollWaitMs: 300,
        pollBackoffMaxMs: 100,
        heartbeatIntervalMs: 500,
        enrollBackoffMaxMs: 50,
        publishBackoffMaxMs: 200,
        probeIntervalMs: 100,
        withApiKey: true,
        logLevel: 'silent',
      },
    ),
    logger,
  );
  tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix: queuePrefix });
  results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix: queuePrefix });
});

after(async () => {
  await runner.close();
  await tasks.close();
  await results.close();
  await new Promise((resolve) => proxy.close(resolve));
  proxy.closeAllConnections();
  await cp.close();
  await dir.remove();
  await deleteKeys(redis, cpPrefix);
  await deleteKeys(redis, queuePrefix);
  await redis.quit();
});

async function api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const res = await request(`${cp.url}${path}`, {
    method,
    headers: { 'dd-application-key': appKey, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as unknown;
}

/** `count` tasks submitted and leased by the runner (each sits on its `tasks` queue: no worker runs here). */
async function leasedTasks(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const view = taskViewSchema.parse(
      await api('POST', TASKS_API.submit, {
        runner: 'edge-batch',
        action: 'com.datadoghq.http.request',
        inputs: { url: 'http://127.0.0.1:1/' },
      }),
    );
    ids.push(view.id);
  }
  await waitUntil(
    async () => ((await Promise.all(ids.map((id) => tasks.getJob(id)))).every(Boolean) ? true : undefined),
    20_000,
    'every task leased by the runner',
  );
  return ids;
}

/** What a worker does when each action finishes, all at once. */
async function queueResults(ids: readonly string[]): Promise<void> {
  await results.addBulk(
    ids.map((taskId) => ({
      name: RESULT_JOB_NAME,
      data: { taskId, outcome: { kind: 'succeeded' as const, output: { taskId }, attempts: 1, durationMs: 1 } },
      opts: resultJobOptions(taskId),
    })),
  );
}

async function resultEvents(taskId: string): Promise<string[]> {
  return taskEventsResponseSchema
    .parse(await api('GET', taskEventsPath(taskId)))
    .events.map((e) => e.type)
    .filter((t) => t.startsWith('result.'));
}

async function allPublished(ids: readonly string[], what: string): Promise<void> {
  await waitUntil(
    async () => ((await Promise.all(ids.map((id) => results.getJob(id).then((j) => j?.isCompleted())))).every(Boolean) ? true : undefined),
    30_000,
    what,
  );
}

async function assertRecordedOnce(ids: readonly string[]): Promise<string[][]> {
  const all: string[][] = [];
  for (const id of ids) {
    const task = taskViewSchema.parse(await api('GET', TASKS_API.get(id)));
    assert.equal(task.state, 'succeeded', id);
    assert.deepEqual(task.outcome?.output, { taskId: id });
    const events = await resultEvents(id);
    assert.equal(events.filter((e) => e === 'result.recorded').length, 1, `${id}: ${events.join(', ')}`);
    assert.ok(
      events.every((e) => e === 'result.recorded' || e === 'result.duplicate'),
      `${id}: ${events.join(', ')}`,
    );
    all.push(events);
  }
  return all;
}

const metric = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number => sampleSum(samples, name, labels);

test('64 results queued at once are published in a few requests, each task recorded once, every lease removed', async (t) => {
  const ids = await leasedTasks(64);
  const before = (await scrape(`${cp.url}/metrics`)).samples;
  await queueResults(ids);
  await allPublished(ids, 'all 64 results published');
  const now = (await scrape(`${cp.url}/metrics`)).samples;
  const requests = metric(now, 'par_cp_result_batch_size_count') - metric(before, 'par_cp_result_batch_size_count');
  assert.equal(metric(now, 'par_cp_result_batch_size_sum') - metric(before, 'par_cp_result_batch_size_sum'), 64);
  t.diagnostic(`64 results in ${requests} requests`);
  assert.ok(requests >= 1 && requests <= 16, `64 results in ${requests} requests`);
  assert.equal(
    metric(now, 'par_cp_result_reports_total', { status: 'recorded' }) -
      metric(before, 'par_cp_result_reports_total', { status: 'recorded' }),
    64,
  );
  const events = await assertRecordedOnce(ids);
  assert.ok(
    events.every((e) => e.length === 1),
    'no duplicate publishes without a failure',
  );
  assert.deepEqual(await redis.hmget(leasesKey(queuePrefix, runner.identity.runnerId), ...ids.slice(0, 3)), [null, null, null]);
});

test('answers lost on the way back: the whole batch is retried, nothing recorded twice; an outage: nothing lost', async () => {
  // The control plane records the first two batches but the runner never hears it.
  const lost = await leasedTasks(32);
  proxyMode = { kind: 'lose-batch-answers', left: 2 };
  await queueResults(lost);
  await allPublished(lost, 'results published despite lost answers');
  assert.equal(proxyMode.left, 0, 'two answers were lost');
  const events = await assertRecordedOnce(lost);
  assert.ok(
    events.some((e) => e.includes('result.duplicate')),
    'a batch whose answer was lost was published again (acknowledged as duplicate)',
  );

  // No control plane at all while the results come in: parked, then published once it is back.
  const parked = await leasedTasks(32);
  proxyMode = { kind: 'down' };
  await queueResults(parked);
  await waitUntil(
    async () => ((await results.getJobCountByTypes('delayed')) === parked.length ? true : undefined),
    20_000,
    'every result parked while the control plane is unreachable',
  );
  proxyMode = { kind: 'forward' };
  await allPublished(parked, 'results published after the outage');
  const afterOutage = await assertRecordedOnce(parked);
  assert.ok(
    afterOutage.every((e) => e.length === 1),
    'nothing reached the control plane during the outage',
  );
});

test('a result the batch route refuses (nested 2 levels deeper there) is sent alone; it and its batch mates are recorded', async () => {
  const ids = await leasedTasks(4);
  // 61 levels under the output: the single route sees its deepest object at depth 63 (allowed, < 64),
  // a batch at 65 (refused whole, 400).
  let deep: Record<string, unknown> = { taskId: ids[0] };
  for (let i = 0; i < 61; i++) deep = { a: deep };
  await results.add(
    RESULT_JOB_NAME,
    { taskId: ids[0]!, outcome: { kind: 'succeeded', output: deep, attempts: 1, durationMs: 1 } },
    resultJobOptions(ids[0]!),
  );
  await queueResults(ids.slice(1));
  await allPublished(ids, 'the deep result and its batch mates published');
  for (const id of ids) {
    const task = taskViewSchema.parse(await api('GET', TASKS_API.get(id)));
    assert.equal(task.state, 'succeeded', id);
    assert.deepEqual(await resultEvents(id), ['result.recorded'], id);
  }
  assert.deepEqual(taskViewSchema.parse(await api('GET', TASKS_API.get(ids[0]!))).outcome?.output, deep);
});

// Last in the file: the runner then remembers the control plane has no batch route.
test('a control plane without the batch route (older) gets one request per result; nothing dropped', async () => {
  const ids = await leasedTasks(8);
  const before = (await scrape(`${cp.url}/metrics`)).samples;
  proxyMode = { kind: 'no-batch-route' };
  await queueResults(ids);
  await allPublished(ids, 'results published one by one');
  const now = (await scrape(`${cp.url}/metrics`)).samples;
  assert.equal(metric(now, 'par_cp_result_batch_size_count') - metric(before, 'par_cp_result_batch_size_count'), 0);
  assert.equal(
    metric(now, 'par_cp_result_reports_total', { status: 'recorded' }) -
      metric(before, 'par_cp_result_reports_total', { status: 'recorded' }),
    8,
  );
  await assertRecordedOnce(ids);
  assert.ok(
    (await Promise.all(ids.map((id) => results.getJob(id)))).every((j) => j?.returnvalue.status === 'recorded'),
    'recorded, not dropped as not found',
  );
});
