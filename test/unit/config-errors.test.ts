import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { loadControlPlaneConfig } from '../../src/config/control-plane.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { loadDevConfig } from '../../src/config/dev.js';
import { loadCliConfig } from '../../src/config/cli.js';
import { ConfigInvalidError } from '../../src/config/env-source.js';
import { envBool, envGlobList, envInt, envList } from '../../src/config/env-helpers.js';
import { ParError } from '../../src/errors/par-error.js';

function configError(fn: () => unknown): ConfigInvalidError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigInvalidError && error instanceof ParError, `not a config error: ${String(error)}`);
    assert.equal(error.code, 'PAR_ERR_CONFIG_INVALID');
    return error;
  }
  assert.fail('the settings were accepted');
}

test('every invalid setting is reported at once, each by the variable the user set', () => {
  const e = configError(() => loadControlPlaneConfig({ PORT: '70000', PAR_LEASE_MS: 'soon' }));
  assert.match(e.message, /PORT: must be at most 65535; PAR_LEASE_MS: must be a whole number/);
  assert.deepEqual(
    e.settings.map((s) => s.setting),
    ['PORT', 'PAR_LEASE_MS'],
  );

  const w = configError(() =>
    loadWorkerConfig({
      PAR_WORKER_CONCURRENCY: '0',
      PAR_HTTP_DENY_LOOPBACK: 'maybe',
      PAR_SCRIPT_SANDBOX_BIND: 'opt/a, opt/b',
      REDIS_URL: 'nope',
    }),
  );
  assert.deepEqual(w.settings.map((s) => s.setting).sort(), [
    'PAR_HTTP_DENY_LOOPBACK',
    'PAR_SCRIPT_SANDBOX_BIND',
    'PAR_WORKER_CONCURRENCY',
    'REDIS_URL',
  ]);
  assert.equal(w.settings.filter((s) => s.setting === 'PAR_SCRIPT_SANDBOX_BIND').length, 1, 'the same problem twice is reported once');
  for (const s of w.settings) assert.ok(w.message.includes(`${s.setting}: ${s.message}`));
});

test('a config error never repeats the value (it may be a secret)', () => {
  const e = configError(() => loadControlPlaneConfig({ PAR_ADMIN_API_KEY: 'short-s3cret', PAR_CP_REDIS_URL: 'redis//user:pa55word@host' }));
  assert.deepEqual(
    e.settings.map((s) => s.setting),
    ['PAR_CP_REDIS_URL', 'PAR_ADMIN_API_KEY'],
  );
  assert.ok(!e.message.includes('s3cret') && !e.message.includes('pa55word'), e.message);
});

test('checks across settings still name their setting, once each setting is valid', () => {
  const e = configError(() => loadWorkerConfig({ PAR_WORKER_LOCK_MS: '2000', PAR_WORKER_STALLED_INTERVAL_MS: '3000' }));
  assert.deepEqual(
    e.settings.map((s) => s.setting),
    ['PAR_WORKER_STALLED_INTERVAL_MS'],
  );
  const c = configError(() => loadControlPlaneConfig({ PAR_SIGNING_KEY_RETIRE_AFTER_MS: '5', PAR_SIGNING_KEY_ROTATE_INTERVAL_MS: '10' }));
  assert.deepEqual(c.settings.map((s) => s.setting).sort(), ['PAR_SIGNING_KEY_RETIRE_AFTER_MS', 'PAR_SIGNING_KEY_ROTATE_INTERVAL_MS']);
});

test('a setting that was not set is named by its first variable; a flag by its flag', () => {
  const e = configError(() => loadCliConfig({}));
  assert.deepEqual(
    e.settings.map((s) => s.setting),
    ['PAR_APP_KEY'],
  );
  assert.match(e.message, /PAR_APP_KEY: is required/);
  const f = configError(() => loadRunnerConfig({}, { printFormat: 'yaml' }));
  assert.deepEqual(
    f.settings.map((s) => s.setting),
    ['-f'],
  );
  configError(() => loadDevConfig({ PAR_WORKERS: '65', PAR_RUNNER_NAME: 'no spaces' }));
});

test('booleans accept exactly the spellings they always did, in every process', () => {
  for (const [value, expected] of [
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ] as const) {
    assert.equal(loadRunnerConfig({ PAR_DASHBOARD_READ_ONLY: value }).dashboardReadOnly, expected, value);
    assert.equal(loadWorkerConfig({ PAR_HTTP_DENY_LOOPBACK: value }).httpDenyLoopback, expected, value);
    assert.equal(loadWorkerConfig({ PAR_HTTP_ALLOW_METADATA_ADDRESSES: value }).httpAllowMetadataAddresses, expected, value);
  }
  for (const value of ['TRUE', 'on', 'off', 'y', ' true']) {
    const e = configError(() => loadRunnerConfig({ PAR_DASHBOARD_READ_ONLY: value }));
    assert.match(e.message, /PAR_DASHBOARD_READ_ONLY: must be one of true, 1, yes, false, 0, no/);
  }
  assert.equal(envBool().parse(true), true, 'a boolean from code is taken as is');
  assert.equal(envBool().parse(false), false);
});

test('integers and lists read the same way everywhere', () => {
  const int = envInt(1, 10);
  assert.equal(int.parse('7'), 7);
  assert.equal(int.parse(7), 7);
  for (const bad of ['lots', '1.5', '0', '11']) assert.equal(int.safeParse(bad).success, false, bad);
  assert.deepEqual(envList(z.string()).parse('a, b,\nc,,'), ['a', 'b', 'c']);
  assert.deepEqual(envList(z.string()).parse(['x']), ['x']);
  assert.deepEqual(envGlobList(z.string()).parse('a.corp, db.{eu,us}.corp'), ['a.corp', 'db.{eu,us}.corp']);
  assert.deepEqual(loadRunnerConfig({ RUNNER_MODES: 'pull, pull' }).modes, ['pull', 'pull']);
});

test('defaults are unchanged', () => {
  const cp = loadControlPlaneConfig({});
  assert.deepEqual(
    [cp.host, cp.port, cp.redisUrl, cp.keyPrefix, cp.taskTtlMs, cp.leaseMs, cp.maxDeliveries, cp.leaseSweepIntervalMs, cp.logLevel],
    ['127.0.0.1', 7700, 'redis://127.0.0.1:6379', 'par:cp', 600_000, 30_000, 3, 1_000, 'info'],
  );
  const r = loadRunnerConfig({});
  assert.deepEqual(
    [r.modes, r.allowlist, r.dashboardReadOnly, r.capacity, r.adminPort, r.withApiKey],
    [['pull'], undefined, true, 50, 9016, false],
  );
  const w = loadWorkerConfig({});
  assert.deepEqual(
    [w.httpHostAllowlist, w.scriptSandboxBind, w.httpDenyLoopback, w.stalledIntervalMs, w.concurrency],
    [[], [], false, 5_000, 10],
  );
  const d = loadDevConfig({});
  assert.deepEqual([d.stateDir, d.workers, d.allowlist, d.controlPlanePort], ['.par', 2, 'com.datadoghq.http.*', 7700]);
  assert.ok(Object.isFrozen(w) && Object.isFrozen(d));
});
