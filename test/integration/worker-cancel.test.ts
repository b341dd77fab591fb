/**
 * The worker's half of cancellation (real worker, real Redis, signed tasks, a loopback target):
 * a task cancelled before its job starts never runs (the marker); a running HTTP request is
 * aborted by the cancel message; either way the outcome is `cancelled` / PAR_ERR_TASK_CANCELLED.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forwardCancels } from '../../src/runner/cancel-forwarder.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';
import { newTaskId, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

describe('worker: cancellation', () => {
  let h: WorkerHarness;
  let target: TargetServer;
  const closed = new Set<string>();

  before(async () => {
    target = await startTargetServer();
    target.route('/hang', (req) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
      req.socket.once('close', () => closed.add(id));
    });
    h = await startWorkerHarness('worker-cancel');
  });
  after(async () => {
    await h.close();
    await target.close();
  });

  it('a task cancelled before its job starts never runs', async () => {
    const taskId = newTaskId();
    await forwardCancels(h.redis, h.prefix, [taskId]);
    await h.submit({
      sub: taskId,
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: `${target.url}/health?id=${taskId}` },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'cancelled');
    assert.equal(outcome.error?.code, 'PAR_ERR_TASK_CANCELLED');
    assert.match(outcome.error.message, /before it ran/);
    assert.equal(target.requests.filter((r) => r.url.includes(taskId)).length, 0);
  });

  it('a running request is aborted by the cancel message', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: `${target.url}/hang?id=${taskId}` },
      timeoutMs: 60_000,
    });
    await waitUntil(() => (target.requests.some((r) => r.url.includes(taskId)) ? true : undefined), 10_000, 'the request to arrive');
    await forwardCancels(h.redis, h.prefix, [taskId]);
    const outcome = await h.waitResult(taskId, 10_000);
    assert.equal(outcome.kind, 'cancelled');
    assert.equal(outcome.error?.code, 'PAR_ERR_TASK_CANCELLED');
    await waitUntil(() => (closed.has(taskId) ? true : undefined), 10_000, "the request's connection to close");
    // Cancelling a task this worker does not run (or no longer runs) is harmless.
    await forwardCancels(h.redis, h.prefix, [taskId, 'not-here']);
    const other = newTaskId();
    await h.submit({ sub: other, action: 'com.datadoghq.http.request', inputs: { verb: 'GET', url: `${target.url}/health?id=${other}` } });
    assert.equal((await h.waitResult(other)).kind, 'succeeded');
  });
});
