/**
 * `npm start` (`par start`): the whole system on one host, with a private redis-server when no
 * Redis answers, a task through it, and a clean Ctrl-C.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiClient } from '../../src/cli/api-client.js';
import { freePort, redisAnswers } from '../../src/cli/local-redis.js';
import { startPar } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

test('par start brings up everything on a private Redis, runs a task, and stops cleanly on SIGINT', async () => {
  const home = await tempDir('dev-home');
  const unusedRedis = `redis://127.0.0.1:${await freePort()}`;
  const cpPort = await freePort();
  const dev = startPar('par-start', ['start'], {
    REDIS_URL: unusedRedis,
    PAR_HOME: home.path,
    PAR_CP_PORT: String(cpPort),
    PAR_RUNNER_ADMIN_PORT: String(await freePort()),
    PAR_WORKERS: '2',
    PAR_RUNNER_NAME: 'dev-runner',
  });
  try {
    await dev.waitForOutput(/Ctrl-C stops everything/, 60_000);
    const out = dev.output();
    const appKey = /app key\s+(\S+)/.exec(out)?.[1];
    const redisUrl = /redis\s+(redis:\/\/\S+)\s+\(private redis-server/.exec(out)?.[1];
    assert.ok(appKey, out);
    assert.ok(redisUrl, `a private redis-server is reported: ${out}`);
    assert.match(out, new RegExp(`control plane\\s+http://127\\.0\\.0\\.1:${cpPort}`));
    assert.match(out, /queue dashboard\s+http:\/\/127\.0\.0\.1:\d+\/queues/);

    const api = new ApiClient({ controlPlaneUrl: `http://127.0.0.1:${cpPort}`, appKey });
    const task = await api.submitTask({
      runner: 'dev-runner',
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: `http://127.0.0.1:${cpPort}/healthz` },
    });
    const done = await api.waitForTask(task.id, 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal((done.outcome?.output as { status: number }).status, 200);

    assert.equal(await dev.stop('SIGINT', 30_000), 0);
    assert.match(dev.output(), /stopped\./);
    assert.equal(await redisAnswers(redisUrl, 500), false, 'the private redis-server is gone');
  } finally {
    await dev.stop('SIGKILL');
    await home.remove();
  }
});

test('par start without a reachable Redis or a redis-server on PATH says so in one sentence with the fix', async () => {
  const bin = await tempDir('dev-bin');
  try {
    await mkdir(bin.path, { recursive: true });
    await symlink(process.execPath, join(bin.path, 'node'));
    const bare = startPar('par-start', ['start'], {
      PATH: bin.path,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      PAR_HOME: join(bin.path, 'home'),
    });
    assert.equal(await bare.exited, 1);
    assert.match(
      bare.output(),
      /no Redis answers at redis:\/\/127\.0\.0\.1:\d+ and no redis-server is on PATH; install Redis .* or set REDIS_URL/,
    );
  } finally {
    await bin.remove();
  }
});
