/**
 * The worker's metrics settings: off by default, validated at start naming the setting, and a
 * real worker process whose metrics port is taken stops at once saying so (before it waits for
 * the runner's identity).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { ParError } from '../../src/errors/par-error.js';
import { startPar } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

test('PAR_WORKER_METRICS_PORT is off by default, binds loopback, and a bad value names the setting', () => {
  const defaults = loadWorkerConfig({});
  assert.equal(defaults.metricsPort, 0);
  assert.equal(defaults.metricsHost, '127.0.0.1');
  const set = loadWorkerConfig({ PAR_WORKER_METRICS_PORT: '9100', PAR_WORKER_METRICS_HOST: '0.0.0.0' });
  assert.equal(set.metricsPort, 9100);
  assert.equal(set.metricsHost, '0.0.0.0');
  assert.throws(
    () => loadWorkerConfig({ PAR_WORKER_METRICS_PORT: '70000' }),
    (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && e.message.includes('PAR_WORKER_METRICS_PORT'),
  );
});

test('a worker whose metrics port is taken exits at start, naming the setting', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as AddressInfo).port;
  const dir = await tempDir('worker-metrics');
  try {
    // No identity in the config dir: without the port check the worker would wait for one forever.
    const worker = startPar('worker', ['worker'], {
      DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
      PAR_WORKER_METRICS_PORT: String(port),
      PAR_SCRIPT_SANDBOX: 'none',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    const code = await Promise.race([worker.exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
    if (code === 'still running') await worker.stop('SIGKILL', 5_000);
    assert.notEqual(code, 0, worker.output());
    assert.notEqual(code, 'still running', worker.output());
    assert.match(worker.output(), /PAR_WORKER_METRICS_PORT/);
  } finally {
    blocker.close();
    await dir.remove();
  }
});
