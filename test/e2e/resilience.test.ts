/**
 * Crashes and outages with real processes: a worker killed mid-task, the control plane down
 * while results are produced (checked in the runner's outbox), a runner that dies holding a lease.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';
import { connectRedis } from '../helpers/redis.js';
import { Queue } from 'bullmq';
import { RESULTS_QUEUE, type ResultJobData } from '../../src/contracts/jobs.js';
import type { TaskEvent, TaskView } from '../../src/contracts/tasks-api.js';

let system: System | undefined;
let target: TargetServer | undefined;

afterEach(async () => {
  await system?.stop();
  await target?.close();
  system = undefined;
  target = undefined;
});

const HTTP = 'com.datadoghq.http.request';

test('a worker killed while it runs a task: the task still completes and exactly one result is recorded', async () => {
  target = await startTargetServer();
  const held: ServerResponse[] = [];
  target.route('/slow', (_req, res) => {
    // The first call never answers (its worker is killed); later calls answer at once.
    if (target!.requests.filter((r) => r.url.startsWith('/slow')).length === 1) {
      held.push(res);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ served: 'second' }));
  });
  system = await startSystem({ workers: 1, workerEnv: { PAR_WORKER_LOCK_MS: '1500', PAR_WORKER_STALLED_INTERVAL_MS: '1000' } });
  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/slow` },
    timeoutMs: 30_000,
  });
  await waitUntil(
    () => (target!.requests.some((r) => r.url === '/slow') ? true : undefined),
    15_000,
    'the first worker to call the service',
  );
  await system.workers[0]!.stop('SIGKILL');
  await system.startWorker({ PAR_WORKER_LOCK_MS: '1500', PAR_WORKER_STALLED_INTERVAL_MS: '1000' }).waitForOutput(/worker ready/, 60_000);

  const done = await system.api.waitForTask(task.id, 30_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
  assert.deepEqual((done.outcome?.output as { body: unknown }).body, { served: 'second' });
  assert.equal(target.requests.filter((r) => r.url === '/slow').length, 2, 'run once by the killed worker, once by the survivor');
  const events = await system.api.getTaskEvents(task.id);
  assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1, JSON.stringify(events));
  for (const res of held) res.destroy();
});

test('control plane down for a while, then back: results produced meanwhile are all delivered, once', async () => {
  target = await startTargetServer();
  // The service answers only when the test says so: after the control plane is gone.
  const held: ServerResponse[] = [];
  target.route('/work', (_req, res) => {
    held.push(res);
  });
  system = await startSystem({ workers: 2, cpEnv: { PAR_LEASE_MS: '3000' }, workerEnv: { PAR_WORKER_CONCURRENCY: '5' } });
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    ids.push(
      (
        await system.api.submitTask({
          runner: system.runnerName,
          action: HTTP,
          inputs: { verb: 'GET', url: `${target.url}/work?i=${i}` },
          timeoutMs: 10_000,
        })
      ).id,
    );
  }
  await waitUntil(() => (held.length >= 6 ? true : undefined), 15_000, 'all tasks to reach the service');
  await system.cp.stop('SIGKILL');
  for (const res of held) {
    res.setHeader('content-type', 'application/json');
    res.end('{"done":true}');
  }

  // The results are produced now, with no control plane: each lands in the runner's outbox
  // (the `results` queue in Redis) and a publish attempt fails; none can be recorded.
  const redis = connectRedis(system.redisUrl);
  const outbox = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix: system.queuePrefix });
  try {
    await waitUntil(
      async () => {
        const jobs = await Promise.all(ids.map((id) => outbox.getJob(id)));
        return jobs.every((j) => j !== undefined && j.attemptsStarted >= 1 && j.finishedOn === undefined) ? true : undefined;
      },
      15_000,
      'all six results in the outbox, tried and not published, while the control plane is down',
    );
    assert.equal(await outbox.getCompletedCount(), 0);
  } finally {
    await outbox.close();
    redis.disconnect();
  }
  await system.startControlPlane();

  for (const id of ids) {
    const view: TaskView = await system.api.waitForTask(id, 20_000);
    assert.equal(view.state, 'succeeded', `${id}: ${JSON.stringify(view.outcome)}`);
    const events: TaskEvent[] = await system.api.getTaskEvents(id);
    assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1, `${id}: ${JSON.stringify(events)}`);
  }
  assert.equal(target.requests.length, 6, 'no task ran twice');
});

test('a runner that dequeues and dies leaves the task deliverable again', async () => {
  target = await startTargetServer();
  // No workers: the runner accepts the task into its queue, then dies with its host (and Redis).
  system = await startSystem({ workers: 0, cpEnv: { PAR_LEASE_MS: '1000', PAR_MAX_DELIVERIES: '3' } });
  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/health` },
    timeoutMs: 10_000,
  });
  await waitUntil(
    async () => ((await system!.api.getTask(task.id)).state === 'leased' ? true : undefined),
    10_000,
    'the runner to lease the task',
  );
  await system.runner.stop('SIGKILL');
  await waitUntil(async () => ((await system!.api.getTask(task.id)).state === 'queued' ? true : undefined), 10_000, 'the lease to expire');
  assert.equal(target.requests.length, 0);

  // The same runner identity comes back on a new host (empty queue), with a worker.
  const freshQueue = `${system.queuePrefix}2`;
  await system.startRunner({ PAR_QUEUE_PREFIX: freshQueue });
  await system.startWorker({ PAR_QUEUE_PREFIX: freshQueue }).waitForOutput(/worker ready/, 60_000);
  const done = await system.api.waitForTask(task.id, 20_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
  assert.equal(done.attempts, 2);
  assert.equal(target.requests.length, 1);
});
