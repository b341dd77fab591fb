/**
 * Idempotent submission through the real processes, on a private redis-server (AOF, fsync on
 * every write) that the tests break on purpose: a replayed key runs the action once (API client
 * and `par task run --idempotency-key`); a submission refused by Redis (OOM) stores nothing;
 * Redis killed with -9 in the middle of a stream of submissions leaves, after the clients retry
 * with their keys, exactly one whole task per key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { ApiClient } from '../../src/cli/api-client.js';
import { accessKeySpace } from '../../src/control-plane/store/access-key-space.js';
import { idempotencyRecordKey } from '../../src/control-plane/store/idempotency.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { ParError } from '../../src/errors/par-error.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startPar } from '../helpers/processes.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { scanKeys } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const HTTP = 'com.datadoghq.http.request';
let redis: PrivateRedis;
let system: System;
let target: TargetServer;
let client: Redis;

before(async () => {
  redis = await startPrivateRedis({ appendfsync: 'always' });
  target = await startTargetServer();
  target.route('/run', (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ran":true}');
  });
  system = await startSystem({ redisUrl: redis.url, workers: 1 });
  client = redis.client();
});

after(async () => {
  client.disconnect();
  await system.stop();
  await target.close();
  await redis.stop();
});

const executions = (path: string): number => target.requests.filter((r) => r.url === path).length;

async function taskIds(): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${system.cpPrefix}:task:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) if (!k.endsWith(':events')) ids.push(k.slice(`${system.cpPrefix}:task:`.length));
  } while (cursor !== '0');
  return ids;
}

test('a replayed key returns the same task and the action runs once (API client and par task run)', async () => {
  const body = { runner: system.runnerName, action: HTTP, inputs: { verb: 'GET', url: `${target.url}/run?by=api` }, timeoutMs: 10_000 };
  const first = await system.api.submit(body, { idempotencyKey: 'round-trip-api' });
  assert.equal(first.replayed, false);
  const done = await system.api.waitForTask(first.task.id, 30_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
  const again = await system.api.submit(body, { idempotencyKey: 'round-trip-api' });
  assert.equal(again.replayed, true);
  assert.equal(again.task.id, first.task.id);
  assert.equal(again.task.state, 'succeeded', 'the replay shows the task as it is now');

  const cli = async (): Promise<{ taskId: string; state: string; replayed: boolean }> => {
    const p = startPar(
      'cli',
      [
        'task',
        'run',
        '--action',
        HTTP,
        '--runner',
        system.runnerName,
        '--input',
        JSON.stringify({ verb: 'GET', url: `${target.url}/run?by=cli` }),
        '--timeout',
        '10000',
        '--idempotency-key',
        'round-trip-cli',
      ],
      {
        PAR_CONTROL_PLANE_URL: system.cpUrl,
        PAR_APP_KEY: system.keys.appKey,
      },
    );
    const code = await p.exited;
    assert.equal(code, 0, p.output());
    return JSON.parse(p.output().trim().split('\n').pop()!) as { taskId: string; state: string; replayed: boolean };
  };
  const c1 = await cli();
  assert.equal(c1.replayed, false);
  assert.equal((await system.api.waitForTask(c1.taskId, 30_000)).state, 'succeeded');
  const c2 = await cli();
  assert.equal(c2.taskId, c1.taskId);
  assert.equal(c2.replayed, true);

  for (const id of [first.task.id, c1.taskId]) {
    const types = (await system.api.getTaskEvents(id)).map((e) => e.type);
    assert.deepEqual(types, ['submitted', 'delivered', 'result.recorded'], `${id}: submitted, run and recorded once`);
  }
  const identity = await readIdentity(system.configDir);
  assert.equal(await client.llen(keySpace(system.cpPrefix).ready(identity!.runnerId)), 0, 'nothing left queued by the replays');
  assert.equal(executions('/run?by=api'), 1);
  assert.equal(executions('/run?by=cli'), 1);
});

test('a submission Redis refuses (OOM) answers 500 and stores nothing; the retry with its key runs once', async () => {
  // No runner or worker while Redis refuses writes: this test is about the control plane's store.
  await system.runner.stop('SIGTERM');
  await system.workers[0]!.stop('SIGTERM');
  const identity = await readIdentity(system.configDir);
  const ks = keySpace(system.cpPrefix);
  const before = await taskIds();
  const body = { runner: system.runnerName, action: HTTP, inputs: { verb: 'GET', url: `${target.url}/run?by=oom` }, timeoutMs: 10_000 };
  await client.config('SET', 'maxmemory', '1');
  try {
    await assert.rejects(
      system.api.submit(body, { idempotencyKey: 'oom-key' }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_INTERNAL',
    );
  } finally {
    await client.config('SET', 'maxmemory', '0');
  }
  assert.deepEqual((await taskIds()).sort(), before.sort(), 'no task stored');
  assert.equal(await client.llen(ks.ready(identity!.runnerId)), 0, 'nothing queued');
  const idem = await scanKeys(client, `${system.cpPrefix}:idem:*oom*`);
  assert.equal(idem.length, 0);

  const retried = await system.api.submit(body, { idempotencyKey: 'oom-key' });
  assert.equal(retried.replayed, false, 'the failed attempt left no record: the retry creates the task');
  await system.startRunner();
  await system.startWorker().waitForOutput(/worker ready/, 60_000);
  assert.equal((await system.api.waitForTask(retried.task.id, 30_000)).state, 'succeeded');
  assert.equal(executions('/run?by=oom'), 1);
});

test('Redis killed -9 during a stream of submissions: after retries with the same keys, exactly one whole task per key', async () => {
  // The runner and workers stop first: only the control plane's store is under test here.
  await system.runner.stop('SIGTERM');
  await Promise.all(system.workers.map((w) => w.stop('SIGTERM')));
  const identity = (await readIdentity(system.configDir))!;
  const ks = keySpace(system.cpPrefix);
  const before = new Set(await taskIds());
  const api = new ApiClient({ controlPlaneUrl: system.cpUrl, apiKey: system.keys.apiKey, appKey: system.keys.appKey });
  const total = 40;
  let next = 0;
  let failures = 0;
  let successes = 0;
  const idsByKey = new Map<string, Set<string>>();
  const adminUserId = (JSON.parse((await client.hget(ks.bootstrap, 'ids')) ?? '{}') as { userId: string }).userId;
  const loop = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const key = `kill-${i}`;
      const body = {
        runner: identity.runnerId,
        action: HTTP,
        inputs: { verb: 'GET', url: `${target.url}/run?kill=${i}` },
        timeoutMs: 10_000,
      };
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const { task } = await api.submit(body, { idempotencyKey: key, timeoutMs: 5_000 });
          (idsByKey.get(key) ?? idsByKey.set(key, new Set()).get(key)!).add(task.id);
          successes++;
          break;
        } catch {
          failures++;
          if (Date.now() > deadline) throw new Error(`submission ${key} kept failing for 60 s`);
          await new Promise((r) => setTimeout(r, 100)); // a client's retry delay, not a synchronisation
        }
      }
    }
  };
  const loops = Promise.all(Array.from({ length: 4 }, loop));
  await waitUntil(() => (successes >= 8 ? true : undefined), 30_000, 'the first submissions');
  await redis.kill('SIGKILL');
  await waitUntil(() => (failures >= 1 ? true : undefined), 30_000, 'a submission to fail while Redis is down');
  await redis.restart();
  await loops;

  assert.ok(failures >= 1);
  assert.equal(system.cp.proc.exitCode, null, 'the control plane survived the Redis crash');
  assert.equal(idsByKey.size, total);
  const fresh = (await taskIds()).filter((id) => !before.has(id));
  assert.equal(fresh.length, total, `one task per key, none from a failed attempt (${failures} failed attempts)`);
  const ready = await client.lrange(ks.ready(identity.runnerId), 0, -1);
  const indexed = await client.zrange(accessKeySpace(ks).runnerTasks(identity.runnerId), 0, -1);
  for (const [key, ids] of idsByKey) {
    assert.equal(ids.size, 1, `${key}: every answer named the same task (${[...ids].join(', ')})`);
    const id = [...ids][0]!;
    assert.ok(fresh.includes(id), `${key}: its task is stored`);
    assert.equal(ready.filter((r) => r === id).length, 1, `${key}: queued exactly once`);
    assert.ok(indexed.includes(id), `${key}: indexed`);
    const record = await client.hget(
      idempotencyRecordKey(ks, { orgId: identity.orgId, owner: { type: 'user', id: adminUserId } }, key),
      'taskId',
    );
    assert.equal(record, id, `${key}: the record names its task`);
    const types = (await api.getTaskEvents(id)).map((e) => e.type);
    assert.deepEqual(types, ['submitted'], `${key}: submitted once`);
  }
});
