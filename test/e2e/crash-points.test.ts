/**
 * "Every lease ends", proven at every crash point of the intake, worker and publish paths (issue 8):
 * a runner (or worker) started with PAR_TEST_CRASH_AT=<point> exits with 137 between two writes,
 * is started again without it, and the task is still recorded exactly once, never stuck `leased`.
 * One system for the file; each point gets its own task and a fresh runner or worker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CRASH_EXIT_CODE, CRASH_POINTS, type CrashPoint } from '../../src/lib/crash-points.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const HTTP = 'com.datadoghq.http.request';
// Short leases, so a handed-back lease lapses and the task is delivered again quickly; a short
// result lock, so a result job left active by a killed runner is published again quickly.
const WORKER_ENV = { PAR_WORKER_LOCK_MS: '1500', PAR_WORKER_STALLED_INTERVAL_MS: '1000' };

let system: System;
let target: TargetServer;

before(async () => {
  target = await startTargetServer();
  target.route('/ok', (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  system = await startSystem({
    workers: 1,
    cpEnv: { PAR_LEASE_MS: '3000' },
    runnerEnv: { PAR_RUNNER_RESULTS_LOCK_MS: '1000', PAR_RUNNER_DRAIN_MS: '2000' },
    workerEnv: WORKER_ENV,
  });
});

after(async () => {
  await system.stop();
  await target.close();
});

async function assertRecordedOnce(taskId: string, point: CrashPoint): Promise<void> {
  const done = await system.api.waitForTask(taskId, 40_000);
  assert.equal(done.state, 'succeeded', `${point}: ${JSON.stringify(done)}`);
  const events = await system.api.getTaskEvents(taskId);
  assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1, `${point}: ${JSON.stringify(events)}`);
  const runs = target.requests.filter((r) => r.url === `/ok?point=${point}`).length;
  assert.ok(runs >= 1 && runs <= 2, `${point}: run ${runs} times (at least once, at most once per crash)`);
}

for (const point of CRASH_POINTS.filter((p) => !p.startsWith('worker.'))) {
  test(`runner killed at ${point}: the task is recorded exactly once after a restart`, async () => {
    await system.runner.stop('SIGTERM', 15_000);
    const crashing = await system.startRunner({ PAR_TEST_CRASH_AT: point });
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: HTTP,
      inputs: { verb: 'GET', url: `${target.url}/ok?point=${point}` },
      timeoutMs: 20_000,
    });
    const code = await Promise.race([crashing.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    assert.equal(code, CRASH_EXIT_CODE, `the runner should have crashed at ${point}:\n${crashing.output().slice(-3000)}`);
    // Before the control plane's answer the task is still leased; after it, already recorded.
    const recordedBeforeCrash = point === 'publish.after-publish' || point === 'publish.after-lease-removed';
    assert.equal((await system.api.getTask(task.id)).state, recordedBeforeCrash ? 'succeeded' : 'leased');
    await system.startRunner({ PAR_TEST_CRASH_AT: '' });
    await assertRecordedOnce(task.id, point);
  });
}

test('worker killed at worker.after-result: the task is recorded exactly once', async () => {
  const point: CrashPoint = 'worker.after-result';
  for (const w of system.workers) await w.stop('SIGTERM', 15_000);
  const crashing = system.startWorker({ PAR_TEST_CRASH_AT: point });
  await crashing.waitForOutput(/worker ready/, 60_000);
  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: HTTP,
    inputs: { verb: 'GET', url: `${target.url}/ok?point=${point}` },
    timeoutMs: 20_000,
  });
  const code = await Promise.race([crashing.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
  assert.equal(code, CRASH_EXIT_CODE, `the worker should have crashed at ${point}:\n${crashing.output().slice(-3000)}`);
  await system.startWorker({ PAR_TEST_CRASH_AT: '' }).waitForOutput(/worker ready/, 60_000);
  await assertRecordedOnce(task.id, point);
});
