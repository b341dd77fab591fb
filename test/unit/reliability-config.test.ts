/** Settings of issue 8 (recovery bounds, drain deadlines, test crash points) and the crash hook. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { ParError } from '../../src/errors/par-error.js';
import { CRASH_EXIT_CODE, crashHook } from '../../src/lib/crash-points.js';

const names = (setting: string) => (e: unknown) =>
  e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && e.message.includes(setting);

test('worker defaults bound recovery to 2 x the lock (20 s) and drain below a 30 s kill timeout', () => {
  const c = loadWorkerConfig({});
  assert.equal(c.lockMs, 10_000);
  assert.equal(c.stalledIntervalMs, 5_000);
  assert.ok(c.lockMs + c.stalledIntervalMs <= 20_000);
  assert.equal(c.graceMs, 25_000);
  assert.equal(c.testCrashAt, undefined);
  assert.equal(loadWorkerConfig({ PAR_WORKER_GRACE_MS: '1500' }).graceMs, 1500);
});

test('a stalled interval longer than the lock is refused at start, naming the setting', () => {
  assert.throws(
    () => loadWorkerConfig({ PAR_WORKER_LOCK_MS: '2000', PAR_WORKER_STALLED_INTERVAL_MS: '3000' }),
    names('PAR_WORKER_STALLED_INTERVAL_MS'),
  );
  assert.equal(loadWorkerConfig({ PAR_WORKER_LOCK_MS: '2000' }).stalledIntervalMs, 1000, 'unset: half a short lock');
  assert.throws(() => loadWorkerConfig({ PAR_WORKER_GRACE_MS: 'soon' }), names('PAR_WORKER_GRACE_MS'));
});

test('runner drain, probe and result lock settings; the probe interval is at most 1 s', () => {
  const c = loadRunnerConfig({});
  assert.equal(c.drainMs, 20_000);
  assert.equal(c.probeIntervalMs, 500);
  assert.equal(c.resultsLockMs, 10_000);
  assert.equal(loadRunnerConfig({ PAR_RUNNER_DRAIN_MS: '0' }).drainMs, 0);
  assert.throws(() => loadRunnerConfig({ PAR_CP_PROBE_INTERVAL_MS: '5000' }), names('PAR_CP_PROBE_INTERVAL_MS'));
});

test('PAR_TEST_CRASH_AT accepts only the named crash points', () => {
  assert.equal(loadRunnerConfig({ PAR_TEST_CRASH_AT: 'intake.after-leases' }).testCrashAt, 'intake.after-leases');
  assert.equal(loadWorkerConfig({ PAR_TEST_CRASH_AT: 'worker.after-result' }).testCrashAt, 'worker.after-result');
  assert.throws(() => loadRunnerConfig({ PAR_TEST_CRASH_AT: 'somewhere' }), names('PAR_TEST_CRASH_AT'));
});

test('the crash hook exits with 137 at its point only, and does nothing when unset', () => {
  const exits: number[] = [];
  const exit = ((code: number) => {
    exits.push(code);
  }) as (code: number) => never;
  const hook = crashHook('publish.after-publish', exit);
  hook('publish.before-publish');
  hook('intake.after-leases');
  assert.deepEqual(exits, []);
  hook('publish.after-publish');
  assert.deepEqual(exits, [CRASH_EXIT_CODE]);
  crashHook(undefined, exit)('publish.after-publish');
  assert.deepEqual(exits, [CRASH_EXIT_CODE]);
});
