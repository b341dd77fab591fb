import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { loadControlPlaneConfig } from '../../src/config/control-plane.js';
import { ParError } from '../../src/errors/par-error.js';

test('the runner accepts the seed environment names as written', () => {
  const config = loadRunnerConfig({
    DD_API_KEY: 'api-key-value',
    DD_APP_KEY: 'app-key-value',
    DD_BASE_URL: 'https://cp.example.internal',
    RUNNER_NAME: 'my-compose-runner',
    RUNNER_MODES: 'pull',
    ACTIONS_ALLOWLIST: 'com.datadoghq.http.request,com.datadoghq.kubernetes.core.listPod',
    DD_PRIVATE_RUNNER_CONFIG_DIR: '/etc/dd-action-runner/config',
  });
  assert.equal(config.apiKey, 'api-key-value');
  assert.equal(config.appKey, 'app-key-value');
  assert.equal(config.controlPlaneUrl, 'https://cp.example.internal');
  assert.equal(config.runnerName, 'my-compose-runner');
  assert.deepEqual(config.modes, ['pull']);
  assert.deepEqual(config.allowlist, ['com.datadoghq.http.request', 'com.datadoghq.kubernetes.core.listPod']);
  assert.equal(config.configDir, '/etc/dd-action-runner/config');
  assert.ok(Object.isFrozen(config));
});

test('the agent-style allowlist variable works too, and PAR_* names win over seed names', () => {
  const a = loadRunnerConfig({ DD_PRIVATE_ACTION_RUNNER_ACTIONS_ALLOWLIST: 'com.datadoghq.script.runPredefinedScript' });
  assert.deepEqual(a.allowlist, ['com.datadoghq.script.runPredefinedScript']);
  const b = loadRunnerConfig({ PAR_CONTROL_PLANE_URL: 'http://127.0.0.1:1', DD_BASE_URL: 'http://127.0.0.1:2' });
  assert.equal(b.controlPlaneUrl, 'http://127.0.0.1:1');
  assert.equal(loadRunnerConfig({}).allowlist, undefined, 'unset allowlist stays undefined so config.yaml can supply it');
});

test('a bad setting fails fast naming the variable the user set', () => {
  assert.throws(
    () => loadRunnerConfig({ DD_BASE_URL: 'not a url' }),
    (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && e.message.includes('DD_BASE_URL'),
  );
  assert.throws(
    () => loadWorkerConfig({ PAR_WORKER_CONCURRENCY: 'lots' }),
    (e: unknown) => e instanceof ParError && e.message.includes('PAR_WORKER_CONCURRENCY'),
  );
  assert.throws(
    () => loadControlPlaneConfig({ PAR_CP_PORT: '70000' }),
    (e: unknown) => e instanceof ParError && e.message.includes('PAR_CP_PORT'),
  );
  assert.throws(
    () => loadRunnerConfig({ RUNNER_NAME: 'bad name!' }),
    (e: unknown) => e instanceof ParError && e.message.includes('RUNNER_NAME'),
  );
});
