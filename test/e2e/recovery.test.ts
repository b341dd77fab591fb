/**
 * Fast, bounded recovery with real processes (issue 8): a task whose workers die three times ends
 * with PAR_ERR_WORKER_LOST instead of staying leased; a SIGKILLed worker's task runs again within
 * 2 x the default lock (20 s); results flow within 2 s of a control-plane outage's end, although
 * the runner's backoff caps are the default 30 s and its retries were parked for seconds.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { Queue } from 'bullmq';
import { request } from 'undici';
import { connectRedis } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';
import { RESULTS_QUEUE, type ResultJobData } from '../../src/contracts/jobs.js';
import type { TaskEvent } from '../../src/contracts/tasks-api.js';

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

test('a task whose workers die three times is failed with PAR_ERR_WORKER_LOST, recorded once, never left leased', async () => {
  target = await startTargetServer();
  target.route('/hang', (_req, res) => {
    held.push(res);
  });
  const fast = { PAR_WORKER_LOCK_MS: '1000', PAR_WORKER_STALLED_INTERVAL_MS: '500' };
  system = await startSystem({ workers: 0, workerEnv: fast });
  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/hang` },
    timeoutMs: 120_000,
  });
  for (let run = 1; run <= 3; run++) {
    const worker = system.startWorker();
    await worker.waitForOutput(/worker ready/, 60_000);
    await waitUntil(() => (count('/hang') >= run ? true : undefined), 30_000, `run ${run} to reach the service`);
    await worker.stop('SIGKILL');
  }
  // The third stall exceeds maxStalledCount (2): BullMQ fails the job without running it, and the
  // runner turns the failed job without a result into PAR_ERR_WORKER_LOST.
  await system.startWorker().waitForOutput(/worker ready/, 60_000);
  const done = await system.api.waitForTask(task.id, 40_000);
  assert.equal(done.state, 'failed', JSON.stringify(done));
  assert.equal(done.outcome?.error?.code, 'PAR_ERR_WORKER_LOST');
  assert.equal(count('/hang'), 3, 'never run a fourth time');
  const events = await system.api.getTaskEvents(task.id);
  assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1, JSON.stringify(events));
});

test('a worker SIGKILLed mid-task with the default lock: the task runs again within 20 s and is recorded once', async () => {
  target = await startTargetServer();
  target.route('/slow', (_req, res) => {
    if (count('/slow') === 1) {
      held.push(res);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end('{"served":"second"}');
  });
  system = await startSystem({ workers: 1 }); // the default lock (10 s) and stalled interval (5 s)
  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/slow` },
    timeoutMs: 60_000,
  });
  await waitUntil(() => (count('/slow') === 1 ? true : undefined), 20_000, 'the first worker to call the service');
  // Let the second worker start before the kill, so its start-up time is not counted.
  await system.startWorker().waitForOutput(/worker ready/, 60_000);
  const killedAt = Date.now();
  await system.workers[0]!.stop('SIGKILL');
  await waitUntil(() => (count('/slow') === 2 ? true : undefined), 30_000, 'the task to run again');
  const rerunAfterMs = Date.now() - killedAt;
  assert.ok(rerunAfterMs <= 20_000, `re-run ${rerunAfterMs} ms after the kill (bound: 2 x 10 s lock)`);
  const done = await system.api.waitForTask(task.id, 20_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done));
  const events = await system.api.getTaskEvents(task.id);
  assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1, JSON.stringify(events));
});

test('control plane down until the runner backs off for seconds (30 s caps): results and polls resume within 2 s of its return', async () => {
  target = await startTargetServer();
  // The service answers when the test says so: after the control plane is gone.
  const work: ServerResponse[] = [];
  target.route('/work', (req, res) => {
    if (req.url?.endsWith('i=new')) {
      res.setHeader('content-type', 'application/json');
      res.end('{"done":true}');
      return;
    }
    work.push(res);
  });
  system = await startSystem({
    workers: 1,
    workerEnv: { PAR_WORKER_CONCURRENCY: '5' },
    runnerEnv: { PAR_POLL_BACKOFF_MAX_MS: '30000', PAR_PUBLISH_BACKOFF_MAX_MS: '30000' },
  });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
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
  await waitUntil(() => (work.length >= 4 ? true : undefined), 20_000, 'all tasks to reach the service');
  await system.cp.stop('SIGKILL');
  for (const res of work) {
    res.setHeader('content-type', 'application/json');
    res.end('{"done":true}');
  }
  // Down until both backoffs are long: the 5th failure of a publish or a poll parks it for 4-8 s
  // (initial 500 ms, doubling, half jitter), so only the probe's wake-up can beat the 2 s bound.
  const FAILURES = 5;
  const redis = connectRedis(system.redisUrl);
  const outbox = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix: system.queuePrefix });
  try {
    await waitUntil(
      async () => {
        const jobs = await Promise.all(ids.map((id) => outbox.getJob(id)));
        if (!jobs.every((j) => j !== undefined && j.attemptsStarted >= FAILURES)) return undefined;
        return (await Promise.all(jobs.map((j) => j!.getState()))).every((state) => state === 'delayed') ? true : undefined;
      },
      60_000,
      `every result to fail ${FAILURES} publishes and be parked`,
    );
    await waitUntil(
      async () => {
        const res = await request(`${system!.runnerAdminUrl}/readyz`);
        const body = (await res.body.json()) as { checks: { controlPlane?: { detail?: string } } };
        const failed = Number(/\((\d+) failed polls\)/.exec(body.checks.controlPlane?.detail ?? '')?.[1] ?? 0);
        return failed >= FAILURES ? true : undefined;
      },
      60_000,
      `${FAILURES} failed polls`,
    );
  } finally {
    await outbox.close();
    redis.disconnect();
  }
  await system.startControlPlane();
  const backAt = Date.now();

  for (const id of ids) {
    const view = await system.api.waitForTask(id, 20_000);
    assert.equal(view.state, 'succeeded', `${id}: ${JSON.stringify(view.outcome)}`);
    const recorded: TaskEvent[] = (await system.api.getTaskEvents(id)).filter((e) => e.type === 'result.recorded');
    assert.equal(recorded.length, 1, id);
    assert.ok(recorded[0]!.at - backAt <= 2_000, `${id} recorded ${recorded[0]!.at - backAt} ms after the control plane answered again`);
  }
  // Polling resumed as well: a new task is delivered and run at once.
  const fresh = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/work?i=new` },
    timeoutMs: 20_000,
  });
  const view = await system.api.waitForTask(fresh.id, 20_000);
  assert.equal(view.state, 'succeeded');
  const freshRecorded = (await system.api.getTaskEvents(fresh.id)).find((e) => e.type === 'result.recorded');
  assert.ok(
    freshRecorded && freshRecorded.at - backAt <= 5_000,
    `a task submitted after the outage was recorded ${freshRecorded ? freshRecorded.at - backAt : '?'} ms after the return`,
  );
  assert.equal(count('/work'), 5, 'no task ran twice');
});
