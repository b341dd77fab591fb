/**
 * Graceful drain with a deadline, real processes (issue 8). SIGTERM to a runner: the running task
 * finishes and is published, unstarted tasks are handed back and run later, each recorded once.
 * SIGTERM to a worker: a task shorter than the grace period finishes there; a longer one is
 * aborted, handed back to the queue and run by another worker, recorded once.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';

const HTTP = 'com.datadoghq.http.request';

let system: System | undefined;
let target: TargetServer | undefined;
const held: ServerResponse[] = [];

afterEach(async () => {
  for (const res of held.splice(0)) res.destroy();
  await system?.stop();
  await target?.close();
  system = undefined;
  target = undefined;
});

const count = (path: string): number => target!.requests.filter((r) => r.url.startsWith(path)).length;

async function assertRecordedOnce(id: string): Promise<void> {
  const done = await system!.api.waitForTask(id, 40_000);
  assert.equal(done.state, 'succeeded', `${id}: ${JSON.stringify(done)}`);
  const events = await system!.api.getTaskEvents(id);
  assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1, `${id}: ${JSON.stringify(events)}`);
}

test('runner SIGTERM: the running task finishes and is published; unstarted ones are handed back, run later, once each', async () => {
  target = await startTargetServer();
  target.route('/work', (_req, res) => {
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end('{"done":true}');
    }, 2_000);
  });
  system = await startSystem({ workers: 1, cpEnv: { PAR_LEASE_MS: '3000' }, workerEnv: { PAR_WORKER_CONCURRENCY: '1' } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(
      (
        await system.api.submitTask({
          runner: system.runnerName,
          action: HTTP,
          inputs: { verb: 'GET', url: `${target.url}/work?i=${i}` },
          timeoutMs: 20_000,
        })
      ).id,
    );
  }
  await waitUntil(() => (count('/work') === 1 ? true : undefined), 20_000, 'the first task to start');
  const runner = system.runner;
  const stoppedAt = Date.now();
  const code = await runner.stop('SIGTERM', 30_000);
  assert.equal(code, 0, runner.output().slice(-3000));
  assert.ok(Date.now() - stoppedAt < 15_000, 'the runner stopped once its running task was published');

  const running = ids.find((_, i) => target!.requests[0]!.url === `/work?i=${i}`)!;
  const first = await system.api.getTask(running);
  assert.equal(first.state, 'succeeded', 'the running task finished and was published before the runner exited');
  assert.equal(count('/work'), 1, 'the unstarted tasks did not run on this runner');

  // Back with the same identity: the handed-back tasks are delivered again when their leases lapse.
  await system.startRunner();
  for (const id of ids) await assertRecordedOnce(id);
  assert.equal(count('/work'), 3, 'each task ran exactly once');
});

test('worker SIGTERM: a task within the grace period finishes there; a longer one is aborted and runs elsewhere, recorded once', async () => {
  target = await startTargetServer();
  target.route('/short', (_req, res) => {
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end('{"short":true}');
    }, 1_000);
  });
  target.route('/long', (_req, res) => {
    if (count('/long') === 1) {
      held.push(res);
      return;
    } // the first run would take forever
    res.setHeader('content-type', 'application/json');
    res.end('{"served":"second"}');
  });
  system = await startSystem({ workers: 0 });

  // Within the grace period: finishes on the stopping worker.
  const a = system.startWorker({ PAR_WORKER_GRACE_MS: '10000' });
  await a.waitForOutput(/worker ready/, 60_000);
  const short = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/short` },
    timeoutMs: 20_000,
  });
  await waitUntil(() => (count('/short') === 1 ? true : undefined), 20_000, 'the short task to start');
  assert.equal(await a.stop('SIGTERM', 20_000), 0, a.output().slice(-3000));
  assert.equal((await system.api.getTask(short.id)).state, 'succeeded', 'finished within the grace period');
  await assertRecordedOnce(short.id);

  // Longer than the grace period: aborted, handed back, run again by another worker.
  const b = system.startWorker({ PAR_WORKER_GRACE_MS: '1500' });
  await b.waitForOutput(/worker ready/, 60_000);
  const long = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/long` },
    timeoutMs: 60_000,
  });
  await waitUntil(() => (count('/long') === 1 ? true : undefined), 20_000, 'the long task to start');
  const c = system.startWorker();
  await c.waitForOutput(/worker ready/, 60_000);
  const stoppedAt = Date.now();
  assert.equal(await b.stop('SIGTERM', 20_000), 0, b.output().slice(-3000));
  assert.ok(
    Date.now() - stoppedAt < 1_500 + 3_000 + 3_000,
    `the worker exited ${Date.now() - stoppedAt} ms after SIGTERM (grace 1.5 s + abort window 3 s)`,
  );
  const done = await system.api.waitForTask(long.id, 30_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done));
  assert.deepEqual((done.outcome?.output as { body: unknown }).body, { served: 'second' });
  assert.equal(count('/long'), 2, 'aborted once, run once more elsewhere');
  await assertRecordedOnce(long.id);
});
