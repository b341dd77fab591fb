/** Control plane as a process: listen on a real port, sweeper timer, restart, clean close. */
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlaneConfigSchema } from '../../src/config/control-plane.js';
import { RUNNER_API, dequeueResponseSchema, enrollResponseSchema } from '../../src/contracts/runner-api.js';
import { TASKS_API, taskViewSchema } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { runControlPlane } from '../../src/control-plane/server.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { TEST_REDIS_URL, connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';
import { silentLogger, startHarness } from './control-plane-harness.js';

async function json(res: Response): Promise<unknown> {
  return res.json();
}

test('runControlPlane serves on a real port, sweeps leases on its own, extends leases on restart and closes cleanly', async () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('cp-server');
  const base = { keyPrefix: prefix, redisUrl: TEST_REDIS_URL, host: '127.0.0.1', port: 0, logLevel: 'silent' };
  try {
    const cp = await runControlPlane(
      controlPlaneConfigSchema.parse({ ...base, leaseMs: 150, leaseSweepIntervalMs: 20, maxDeliveries: 1 }),
      silentLogger,
    );
    assert.match(cp.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(cp.adminKeys, 'keys generated on the first start');
    const { apiKey, appKey } = cp.adminKeys;

    assert.equal((await fetch(`${cp.url}/healthz`)).status, 200);
    const keyPair = await generateSigningKeyPair();
    const enrollRes = await fetch(`${cp.url}${RUNNER_API.enroll}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'DD-API-KEY': apiKey, 'DD-APPLICATION-KEY': appKey },
      body: JSON.stringify({ name: 'srv-runner', publicKey: keyPair.publicJwk }),
    });
    assert.equal(enrollRes.status, 201);
    const { runnerId } = enrollResponseSchema.parse(await json(enrollRes));
    const minter = new RunnerTokenMinter(runnerId, await importSigningKey(keyPair.privateJwk));
    const runnerPost = async (path: string, body: unknown): Promise<Response> =>
      fetch(`${cp.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await minter.token()}` },
        body: JSON.stringify(body),
      });
    const submit = async (): Promise<string> => {
      const res = await fetch(`${cp.url}${TASKS_API.submit}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'DD-APPLICATION-KEY': appKey },
        body: JSON.stringify({ runner: 'srv-runner', action: 'com.datadoghq.http.request' }),
      });
      assert.equal(res.status, 201);
      return taskViewSchema.parse(await json(res)).id;
    };

    // The sweeper timer fails a task whose only delivery's lease ran out.
    const lost = await submit();
    const delivered = dequeueResponseSchema.parse(await json(await runnerPost(RUNNER_API.dequeue, { max: 1, waitMs: 1_000 })));
    assert.equal(delivered.tasks[0]?.taskId, lost);
    const failed = await waitUntil(
      async () => {
        const view = taskViewSchema.parse(
          await json(await fetch(`${cp.url}${TASKS_API.get(lost)}`, { headers: { 'DD-APPLICATION-KEY': appKey } })),
        );
        return view.state === 'failed' ? view : undefined;
      },
      3_000,
      'the sweeper to fail the task',
      20,
    );
    assert.equal(failed.outcome?.error?.code, 'PAR_ERR_LEASE_EXPIRED');

    // close() releases a pending long poll at once.
    const POLL_WAIT_MS = 30_000;
    const polling = runnerPost(RUNNER_API.dequeue, { max: 1, waitMs: POLL_WAIT_MS });
    await waitUntil(() => (cp.parkedWaits() === 1 ? true : undefined), 5_000, 'the long poll to park');
    const t0 = Date.now();
    await cp.close();
    const released = await polling;
    assert.equal(released.status, 200);
    assert.deepEqual(await json(released), { tasks: [] });
    assert.ok(Date.now() - t0 < POLL_WAIT_MS / 3, `close took ${Date.now() - t0} ms, the poll would wait ${POLL_WAIT_MS} ms`);
    await cp.close(); // idempotent

    // A lease left outstanding while the control plane was down is extended on the next start.
    const ks = keySpace(prefix);
    const held = 'held-task';
    const lapsedAt = Date.now() - 60_000;
    await redis.hset(ks.task(held), {
      id: held,
      runnerId,
      orgId: 'o',
      action: 'a.b.c',
      state: 'leased',
      attempts: 1,
      leaseToken: 't',
      leaseExpiresAt: lapsedAt,
    });
    await redis.zadd(ks.leases, lapsedAt, held);
    const restartedAt = Date.now();
    const again = await runControlPlane(controlPlaneConfigSchema.parse({ ...base, leaseMs: 10_000 }), silentLogger);
    try {
      assert.equal(again.adminKeys, undefined, 'keys are not generated twice');
      assert.ok(Number(await redis.zscore(ks.leases, held)) >= restartedAt + 10_000);
      // The runner enrolled before the restart is still known.
      const runners = await fetch(`${again.url}${TASKS_API.runners}`, { headers: { 'DD-APPLICATION-KEY': appKey } });
      assert.equal(runners.status, 200);
      assert.match(await runners.text(), /srv-runner/);
    } finally {
      await again.close();
    }
  } finally {
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
});

test('a long poll stops waiting when its HTTP client disconnects', async () => {
  const h = await startHarness('client-gone');
  try {
    const runner = await h.enroll();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    assert.ok(address && typeof address === 'object');
    // node:http rather than fetch: undici opens a spare connection after an abort, which would
    // hold the server's close() for its keep-alive time.
    const req = httpRequest({
      host: '127.0.0.1',
      port: address.port,
      path: RUNNER_API.dequeue,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await runner.headers()) },
    });
    const outcome = new Promise<string>((resolve) => {
      req.on('response', () => resolve('answered'));
      req.on('error', () => resolve('aborted'));
    });
    req.end(JSON.stringify({ max: 1, waitMs: 30_000 }));
    await waitUntil(() => (h.deps.wakeups.size === 1 ? true : undefined), 2_000, 'the poll to wait');
    req.destroy();
    assert.equal(await outcome, 'aborted');
    await waitUntil(() => (h.deps.wakeups.size === 0 ? true : undefined), 2_000, 'the waiter to be released');
  } finally {
    await h.close();
  }
});
