/**
 * The whole system on a real Redis Cluster (issue 12): six loopback `redis-server
 * --cluster-enabled yes` processes (3 masters, 3 replicas), TWO control-plane processes sharing
 * it, a runner parked on one of them and a worker, all given `redis+cluster://` URLs.
 *
 * 1. Round trip, with the long-poll wake crossing processes: the runner waits on CP-B; a task
 *    submitted through CP-A is delivered long before that poll would end on its own.
 * 2. Failover: while tasks keep being submitted (through both control planes, retried with an
 *    Idempotency-Key when a call fails), `CLUSTER FAILOVER` moves the master of the control
 *    plane's slot, then the master of the queues' slot, to its replica. Every submitted task
 *    ends succeeded, and the target saw each task's request exactly once (nothing lost, none twice);
 *    afterwards a wake still crosses the control planes.
 * 3. Every key the system wrote is in one of two hash slots (the control plane's, the queues').
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../../src/cli/api-client.js';
import { freePort } from '../../src/cli/local-redis.js';
import { hashTagged } from '../../src/lib/redis-cluster-keys.js';
import { startPar, type ParProcess } from '../helpers/processes.js';
import { sampleSum, scrape } from '../helpers/prometheus.js';
import { startRedisCluster, slotOf, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { controlPlaneEnv, waitForHttpOk } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const ACTION = 'com.datadoghq.http.request';
const POLL_WAIT_MS = 60_000;

describe('on a Redis Cluster (3 masters + 3 replicas)', { timeout: 300_000 }, () => {
  let cluster: TestRedisCluster | undefined;
  let target: TargetServer | undefined;
  let dir: { path: string; remove(): Promise<void> } | undefined;
  const processes: ParProcess[] = [];
  const base = `cl-${randomBytes(4).toString('hex')}`;
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  const runnerName = `cluster-${randomBytes(3).toString('hex')}`;
  let cpA = '';
  let cpB = '';
  let apiA: ApiClient;
  let apiB: ApiClient;

  const waiters = async (cpUrl: string): Promise<number> =>
    sampleSum((await scrape(`${cpUrl}/metrics`)).samples, 'par_cp_longpoll_waiters');
  const perTask = (n: string): number =>
    (target?.requests ?? []).filter((r) => new URL(r.url, 'http://x').searchParams.get('n') === n).length;
  const submit = (api: ApiClient, n: string): Promise<{ id: string }> =>
    api.submitTask({
      runner: runnerName,
      action: ACTION,
      inputs: { verb: 'GET', url: `${target!.url}/echo`, urlParams: { n } },
      timeoutMs: 30_000,
    });

  before(async () => {
    target = await startTargetServer();
    target.route('/echo', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    cluster = await startRedisCluster();
    dir = await tempDir('cluster-e2e');
    const [portA, portB, adminPort] = [await freePort(), await freePort(), await freePort()];
    cpA = `http://127.0.0.1:${portA}`;
    cpB = `http://127.0.0.1:${portB}`;
    const cpExtra = { PAR_LEASE_SWEEP_INTERVAL_MS: '200' };
    for (const [name, port] of [
      ['cp-a', portA],
      ['cp-b', portB],
    ] as const) {
      const cp = startPar(name, ['control-plane'], controlPlaneEnv(port, base, keys, cpExtra, cluster.url));
      processes.push(cp);
      await waitForHttpOk(`http://127.0.0.1:${port}/healthz`, 30_000, cp);
    }
    const queueEnv = {
      REDIS_URL: cluster.url,
      PAR_QUEUE_PREFIX: `${base}:q`,
      DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
      ACTIONS_ALLOWLIST: ACTION,
    };
    const runner = startPar('runner', ['runner', '--with-api-key'], {
      ...queueEnv,
      DD_BASE_URL: cpB,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: runnerName,
      PAR_RUNNER_ADMIN_PORT: String(adminPort),
      PAR_POLL_WAIT_MS: String(POLL_WAIT_MS),
      PAR_POLL_BACKOFF_MAX_MS: '300',
      PAR_PUBLISH_BACKOFF_MAX_MS: '300',
      PAR_ENROLL_BACKOFF_MAX_MS: '300',
    });
    processes.push(runner);
    await waitForHttpOk(`http://127.0.0.1:${adminPort}/readyz`, 60_000, runner);
    const worker = startPar('worker', ['worker'], { ...queueEnv, PAR_RETRY_BACKOFF_MS: '100' });
    processes.push(worker);
    await worker.waitForOutput(/worker ready/, 90_000);
    apiA = new ApiClient({ controlPlaneUrl: cpA, apiKey: keys.apiKey, appKey: keys.appKey });
    apiB = new ApiClient({ controlPlaneUrl: cpB, apiKey: keys.apiKey, appKey: keys.appKey });
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGTERM', 5_000)));
    await cluster?.stop();
    await target?.close();
    await dir?.remove();
  });

  /** A task submitted through CP-A while the runner is parked on CP-B arrives long before that poll ends. */
  const crossProcessWake = async (label: string): Promise<void> => {
    // A first task ends the runner's current poll; it then parks a fresh 60 s poll on CP-B.
    const warm = await submit(apiA, `${label}-warm-up`);
    assert.equal((await apiA.waitForTask(warm.id, 60_000)).state, 'succeeded');
    await waitUntil(async () => ((await waiters(cpB)) >= 1 ? true : undefined), 20_000, 'the runner parked on CP-B');
    assert.equal(await waiters(cpA), 0, 'nothing waits on CP-A');
    const started = Date.now();
    const task = await submit(apiA, label);
    const done = await apiA.waitForTask(task.id, 40_000);
    const elapsed = Date.now() - started;
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal((done.outcome?.output as { status: number }).status, 200);
    // Without a wake across processes the task waits for the parked poll to end (about 60 s).
    assert.ok(elapsed < POLL_WAIT_MS / 3, `delivered after ${elapsed} ms: the wake did not cross control planes`);
    assert.equal(perTask(label), 1);
  };

  test('round trip: a task submitted through CP-A wakes the runner parked on CP-B', async () => {
    await crossProcessWake('wake');
  });

  test("a failover of the control plane's master and of the queues' master loses no task and runs none twice", async () => {
    assert.ok(cluster);
    const c = cluster;
    const cpSlot = await slotOf(c, hashTagged(`${base}:cp`));
    const qSlot = await slotOf(c, hashTagged(`${base}:q`));
    const total = 40;
    const ids = new Map<string, string>();
    const failed: string[] = [];

    const submitOne = async (i: number): Promise<void> => {
      const n = `f-${i}`;
      const api = i % 2 === 0 ? apiA : apiB;
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const { task } = await api.submit(
            {
              runner: runnerName,
              action: ACTION,
              inputs: { verb: 'GET', url: `${target!.url}/echo`, urlParams: { n } },
              timeoutMs: 60_000,
            },
            { idempotencyKey: `${base}-${n}`, timeoutMs: 10_000 },
          );
          ids.set(n, task.id);
          return;
        } catch (error) {
          lastErrors.set(n, String(error));
          if (Date.now() > deadline) {
            failed.push(`${n}: ${String(error)}`);
            return;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };

    const failovers: string[] = [];
    const lastErrors = new Map<string, string>();
    // On a timeout, say why: the submissions' last errors and what the control planes logged.
    const submitted = async (count: number): Promise<void> => {
      try {
        await waitUntil(() => (ids.size >= count ? true : undefined), 60_000, `${count} tasks submitted`);
      } catch (error) {
        const logs = processes.filter((p) => p.name.startsWith('cp-')).map((p) => `--- ${p.name}:\n${p.output().slice(-3000)}`);
        const errors = JSON.stringify(Object.fromEntries(lastErrors));
        // Where the control plane's data is now: each node's role and how many of this run's keys it holds.
        const census: string[] = [];
        for (const { port } of c.nodes) {
          const node = c.node(port);
          try {
            const role = /role:(\w+)/.exec(await node.info('replication'))?.[1] ?? '?';
            const found: string[] = [];
            let cursor = '0';
            do {
              const [next, batch] = await node.scan(cursor, 'MATCH', `*${base}:cp*`, 'COUNT', 1000);
              cursor = next;
              found.push(...batch);
            } while (cursor !== '0');
            census.push(`${port} ${role}: ${found.length} cp keys (${found.filter((k) => k.includes(':user')).length} user keys)`);
          } catch (e) {
            census.push(`${port}: ${String(e)}`);
          } finally {
            node.disconnect();
          }
        }
        throw new Error(
          `${String(error)}; failovers: ${failovers.join(', ')}; last errors: ${errors}; nodes: ${census.join(', ')}\n${logs.join('\n')}`,
          {
            cause: error,
          },
        );
      }
    };
    const submitter = (async () => {
      for (let i = 0; i < total; i++) {
        await submitOne(i);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Fail over while tasks flow: the control plane's slot first, then the queues' slot.
    await submitted(8);
    const [cpOld, cpNew] = await c.failoverSlot(cpSlot);
    failovers.push(`cp slot ${cpSlot}: ${cpOld} -> ${cpNew}`);
    await submitted(20);
    const [qOld, qNew] = await c.failoverSlot(qSlot);
    failovers.push(`queue slot ${qSlot}: ${qOld} -> ${qNew}`);
    await submitter;

    assert.deepEqual(failed, [], 'every submission was accepted (retried with its Idempotency-Key)');
    assert.equal(ids.size, total);
    assert.equal(new Set(ids.values()).size, total, 'one task per idempotency key');
    for (const [n, id] of ids) {
      const done = await apiB.waitForTask(id, 90_000);
      assert.equal(done.state, 'succeeded', `${n} (${id}): ${JSON.stringify(done.outcome)}; failovers: ${failovers.join(', ')}`);
    }
    // Results land after the request: every task's request reached the target exactly once.
    for (const n of ids.keys()) assert.equal(perTask(n), 1, `${n} ran ${perTask(n)} times`);
    // Both control planes keep answering after the failovers, and wakes still cross them.
    for (const cp of [cpA, cpB]) await waitForHttpOk(`${cp}/healthz`, 10_000);
    await crossProcessWake('wake-after-failover');
  });

  test("every key the system wrote lives in the control plane's slot or the queues' slot", async () => {
    assert.ok(cluster);
    const c = cluster;
    const allowed = new Set([await slotOf(c, hashTagged(`${base}:cp`)), await slotOf(c, hashTagged(`${base}:q`))]);
    const found: string[] = [];
    for (const { port } of c.nodes) {
      const node = c.node(port);
      try {
        if (!(await node.info('replication')).includes('role:master')) continue;
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', `*${base}*`, 'COUNT', 1000);
          cursor = next;
          found.push(...batch);
        } while (cursor !== '0');
      } finally {
        node.disconnect();
      }
    }
    assert.ok(
      found.some((k) => k.startsWith(`${hashTagged(`${base}:cp`)}:task:`)),
      'control-plane task keys were found',
    );
    assert.ok(
      found.some((k) => k.startsWith(`${hashTagged(`${base}:q`)}:tasks:`)),
      'BullMQ task-queue keys were found',
    );
    const outside: string[] = [];
    for (const key of found) if (!allowed.has(await slotOf(c, key))) outside.push(key);
    assert.deepEqual(outside, []);
  });
});
