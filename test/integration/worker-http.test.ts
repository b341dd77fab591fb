import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';
import { newTaskId, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const REQUEST = 'com.datadoghq.http.request';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('worker: com.datadoghq.http.request', () => {
  let h: WorkerHarness;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    h = await startWorkerHarness('worker-http');
  });
  after(async () => {
    await h.close();
    await target.close();
  });

  it('returns status, headers and parsed JSON body; the job completes', async () => {
    target.route('/echo', (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-seen', String(req.headers['x-one']));
      res.statusCode = 201;
      res.end(JSON.stringify({ method: req.method, url: req.url, body, contentType: req.headers['content-type'] ?? null }));
    });
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      inputs: {
        verb: 'POST',
        url: `${target.url}/echo`,
        requestHeaders: [{ key: 'x-one', value: ['a'] }],
        urlParams: { q: ['1', '2'] },
        body: { hello: 'world' },
      },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.equal(outcome.attempts, 1);
    const output = outcome.output as { status: number; headers: Record<string, string>; body: Record<string, unknown> };
    assert.equal(output.status, 201);
    assert.equal(output.headers['x-seen'], 'a');
    assert.deepEqual(output.body, { method: 'POST', url: '/echo?q=1&q=2', body: '{"hello":"world"}', contentType: 'application/json' });
    assert.equal(
      await waitUntil(async () => ((await h.tasks.getJobState(taskId)) === 'completed' ? true : undefined), 2_000, 'task job completed'),
      true,
    );
  });

  it('returns a non-JSON body as text; an error status fails the task once, quoting status and body', async () => {
    target.route('/text', (_req, res) => {
      res.statusCode = 200;
      res.setHeader('content-type', 'text/plain');
      res.end('fine');
    });
    let misses = 0;
    target.route('/missing', (_req, res) => {
      misses += 1;
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain');
      res.end('nope');
    });
    const ok = newTaskId();
    await h.submit({ sub: ok, action: REQUEST, inputs: { verb: 'GET', url: `${target.url}/text` } });
    const outcome = await h.waitResult(ok);
    assert.equal(outcome.kind, 'succeeded');
    assert.deepEqual({ ...(outcome.output as object), headers: undefined }, { status: 200, body: 'fine', headers: undefined });
    const failed = newTaskId();
    await h.submit({ sub: failed, action: REQUEST, inputs: { verb: 'GET', url: `${target.url}/missing` } });
    const failure = await h.waitResult(failed);
    assert.equal(failure.kind, 'failed');
    assert.equal(failure.error?.code, 'PAR_ERR_HTTP_STATUS');
    assert.match(failure.error.message, /404 Not Found: nope$/);
    assert.equal(misses, 1);
  });

  it('invalid inputs fail with PAR_ERR_INPUT_INVALID and never reach the server', async () => {
    const before = target.requests.length;
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { verb: 'FETCH', url: 'ftp://example.invalid/x' } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.equal(outcome.error.retryable, false);
    assert.equal(outcome.attempts, 1);
    assert.match(outcome.error.message, /verb/);
    assert.equal(target.requests.length, before);
    assert.equal(
      await waitUntil(async () => ((await h.tasks.getJobState(taskId)) === 'failed' ? true : undefined), 2_000, 'task job failed'),
      true,
    );
  });

  it('times out after timeoutMs, aborting the request the server is holding', async () => {
    let aborted = false;
    target.route('/hang', (_req, res) => {
      res.on('close', () => {
        if (!res.writableEnded) aborted = true;
      });
    });
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, timeoutMs: 300, inputs: { url: `${target.url}/hang` } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'timedOut');
    assert.equal(outcome.error?.code, 'PAR_ERR_TASK_TIMEOUT');
    assert.ok(outcome.durationMs >= 290 && outcome.durationMs < 2_000, `duration ${outcome.durationMs}`);
    assert.equal(await waitUntil(() => (aborted ? true : undefined), 2_000, 'server sees the request aborted'), true);
  });

  it('retries a retryable status (errorOnStatus) maxAttempts times, then reports the failure', async () => {
    let hits = 0;
    target.route('/busy', (_req, res) => {
      hits += 1;
      res.statusCode = 503;
      res.end('busy');
    });
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/busy`, errorOnStatus: ['500-599'] } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_STATUS_RETRYABLE');
    assert.equal(outcome.error.retryable, true);
    assert.equal(outcome.attempts, h.config.maxAttempts);
    assert.equal(hits, h.config.maxAttempts);
  });

  it('a non-retryable errorOnStatus match fails at once', async () => {
    let hits = 0;
    target.route('/forbidden', (_req, res) => {
      hits += 1;
      res.statusCode = 403;
      res.end();
    });
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/forbidden`, errorOnStatus: '4xx' } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_STATUS');
    assert.equal(outcome.attempts, 1);
    assert.equal(hits, 1);
  });

  it('retries a refused connection, then reports PAR_ERR_HTTP_CONNECT', async () => {
    const port = await closedPort();
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `http://127.0.0.1:${port}/x` } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_CONNECT');
    assert.equal(outcome.attempts, h.config.maxAttempts);
    // The worker publishes the result before it fails the job: wait for BullMQ to record the failure.
    const job = await waitUntil(
      async () => {
        const j = await h.tasks.getJob(taskId);
        return j !== undefined && (await j.isFailed()) ? j : undefined;
      },
      5_000,
      `job ${taskId} failed`,
    );
    assert.equal(job.attemptsMade, h.config.maxAttempts);
  });

  it('testConnection reports reachability', async () => {
    const port = await closedPort();
    const up = newTaskId();
    const down = newTaskId();
    await h.submit({ sub: up, action: 'com.datadoghq.http.testConnection', inputs: { url: `${target.url}/health` } });
    await h.submit({ sub: down, action: 'com.datadoghq.http.testConnection', inputs: { url: `http://127.0.0.1:${port}/` } });
    assert.deepEqual((await h.waitResult(up)).output, { reachable: true, status: 200 });
    const unreachable = (await h.waitResult(down)).output as { reachable: boolean; error?: { code: string } };
    assert.equal(unreachable.reachable, false);
    assert.equal(unreachable.error?.code, 'PAR_ERR_HTTP_CONNECT');
  });
});
