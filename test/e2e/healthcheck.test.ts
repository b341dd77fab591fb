/**
 * `par healthcheck <role>` (issue 11), the command behind the image's HEALTHCHECK, compose's
 * healthchecks and the Kubernetes probes. A real worker process on a private redis-server: the
 * check passes while the worker runs, fails once its Redis is gone (the liveness file ages),
 * passes again when Redis is back, and fails when the worker has stopped. The HTTP roles: a
 * dead port and a 503 fail, a 200 passes.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../../src/cli/local-redis.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { writeIdentity } from '../../src/lib/identity-file.js';
import { makeIdentity } from '../integration/worker-harness.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { PAR_BIN, startPar, type ParProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

interface CheckRun {
  code: number;
  output: string;
}

function healthcheck(args: string[], env: Record<string, string>): Promise<CheckRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PAR_BIN, 'healthcheck', ...args],
      { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 99) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe('par healthcheck', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('worker: passes while it runs, fails when its Redis is gone or it stopped, recovers with Redis', async () => {
    const redis: PrivateRedis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const dir = await tempDir('liveness');
    cleanups.push(() => dir.remove());
    await writeIdentity(dir.path, await makeIdentity(await generateSigningKeyPair(), ['com.datadoghq.http.*']));
    const livenessFile = join(dir.path, 'worker.alive');
    const checkEnv = { PAR_WORKER_LIVENESS_FILE: livenessFile, PAR_WORKER_LIVENESS_INTERVAL_MS: '500' };

    const before = await healthcheck(['worker'], checkEnv);
    assert.equal(before.code, 1, before.output);
    assert.match(before.output, /worker: UNHEALTHY: .*ENOENT/);

    const worker: ParProcess = startPar('worker', ['worker'], {
      ...checkEnv,
      REDIS_URL: redis.url,
      PAR_CONFIG_DIR: dir.path,
      PAR_QUEUE_PREFIX: `par:test:hc:${process.pid}`,
      PAR_SCRIPT_SANDBOX: 'none',
      PAR_WORKER_GRACE_MS: '1000',
    });
    cleanups.push(() => worker.stop('SIGKILL'));
    await worker.waitForOutput(/worker ready/, 60_000);

    const healthy = await waitUntil(
      async () => {
        const r = await healthcheck(['worker'], checkEnv);
        return r.code === 0 ? r : undefined;
      },
      30_000,
      'the worker healthcheck to pass',
      200,
    );
    assert.match(healthy.output, /worker: healthy: .*touched \d+ ms ago/);

    await redis.kill('SIGKILL');
    const sick = await waitUntil(
      async () => {
        const r = await healthcheck(['worker'], checkEnv);
        return r.code !== 0 ? r : undefined;
      },
      30_000,
      'the worker healthcheck to fail once Redis is gone',
      200,
    );
    assert.equal(sick.code, 1, sick.output);
    assert.match(sick.output, /worker: UNHEALTHY: .* ms old \(limit 1500 ms\)/);
    assert.equal(worker.proc.exitCode, null, 'the worker process itself is still running: only the check tells it is unhealthy');
    await worker.waitForOutput(/no longer touching the liveness file/, 10_000);

    await redis.restart();
    await waitUntil(
      async () => ((await healthcheck(['worker'], checkEnv)).code === 0 ? true : undefined),
      60_000,
      'the healthcheck to pass again once Redis is back',
      200,
    );

    assert.equal(await worker.stop('SIGTERM', 30_000), 0);
    const stopped = await healthcheck(['worker'], checkEnv);
    assert.equal(stopped.code, 1, 'a stopped worker removed its liveness file');
  });

  it('control-plane and runner: a dead port and a 503 fail, a 200 passes', async () => {
    const dead = String(await freePort());
    const cp = await healthcheck(['control-plane'], { PAR_CP_PORT: dead, PAR_HEALTHCHECK_TIMEOUT_MS: '2000' });
    assert.equal(cp.code, 1, cp.output);
    assert.match(cp.output, new RegExp(`control-plane: UNHEALTHY: http://127.0.0.1:${dead}/healthz: ECONNREFUSED`));
    const runner = await healthcheck(['runner'], { PAR_RUNNER_ADMIN_PORT: dead });
    assert.equal(runner.code, 1, runner.output);
    assert.match(runner.output, /runner: UNHEALTHY: .*\/readyz/);

    let ready = false;
    const server: Server = createServer((req, res) => {
      const ok = req.url === '/healthz' || (req.url === '/readyz' && ready);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'not ready' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = String((server.address() as { port: number }).port);

    const notReady = await healthcheck(['runner'], { PAR_RUNNER_ADMIN_PORT: port, PAR_RUNNER_ADMIN_HOST: '0.0.0.0' });
    assert.equal(notReady.code, 1, notReady.output);
    assert.match(notReady.output, /HTTP 503/);
    const live = await healthcheck(['runner', '--liveness'], { PAR_RUNNER_ADMIN_PORT: port });
    assert.equal(live.code, 0, live.output);
    ready = true;
    assert.equal((await healthcheck(['runner'], { PAR_RUNNER_ADMIN_PORT: port })).code, 0);
    assert.equal((await healthcheck([], { PAR_ROLE: 'control-plane', PAR_CP_PORT: port })).code, 0, 'PAR_ROLE picks the role');

    const unknown = await healthcheck(['database'], {});
    assert.equal(unknown.code, 1);
    assert.match(unknown.output, /unknown role "database"/);
  });
});
