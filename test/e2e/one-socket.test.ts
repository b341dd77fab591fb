/**
 * One socket per runner, with real processes: a control plane with a 1.5 s lease, a runner whose
 * long polls park for up to 5 s (its health interval), one worker, and a task that runs 4.5 s
 * (three lease periods). The runner's heartbeats are pipelined behind its parked poll on its one
 * connection; the control plane answers the parked poll at once, so every heartbeat lands within
 * the lease and the task is delivered once, never redelivered. Throughout, the control plane sees
 * exactly one connection from the runner process (the same one: /proc/net/tcp), and the runner's
 * health checks ride on its polls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { connectionsFrom } from '../helpers/tcp-sockets.js';

const LEASE_MS = 1500;
const TASK_MS = 3 * LEASE_MS;

let system: System;
let target: TargetServer;

before(async () => {
  target = await startTargetServer();
  target.route('/slow', (_req, res) => {
    setTimeout(() => res.end('done'), TASK_MS).unref();
  });
  system = await startSystem({
    workers: 1,
    cpEnv: { PAR_LEASE_MS: String(LEASE_MS) },
    runnerEnv: { PAR_POLL_WAIT_MS: '20000', PAR_HEALTH_INTERVAL_MS: '5000' },
  });
});

after(async () => {
  await system.stop();
  await target.close();
});

async function metric(series: string): Promise<number> {
  const res = await request(`${system.cpUrl}/metrics`);
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ')[1] ?? 0);
}

test('a task running three lease periods keeps its lease through heartbeats on the one socket a parked poll holds', async () => {
  const cpPort = Number(new URL(system.cpUrl).port);
  const runnerPid = system.runner.proc.pid;
  assert.ok(runnerPid);
  const yields0 = await metric('par_cp_longpoll_yields_total');

  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: 'com.datadoghq.http.request',
    inputs: { verb: 'GET', url: `${target.url}/slow` },
    timeoutMs: 30_000,
  });
  // Sample the runner's connections to the control plane while the task runs (bounded by the wait below).
  const seen: number[][] = [];
  const sampler = new AbortController();
  const sampling = (async () => {
    while (!sampler.signal.aborted) {
      seen.push(await connectionsFrom(runnerPid, cpPort));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const finished = await system.api.waitForTask(task.id, 30_000).finally(() => sampler.abort());
  await sampling;

  assert.equal(finished.state, 'succeeded', JSON.stringify(finished.outcome));
  const types = (await system.api.getTaskEvents(task.id)).map((e) => e.type);
  assert.deepEqual(
    types.filter((t) => t === 'delivered' || t === 'lease.expired'),
    ['delivered'],
    `delivered once, no lease expiry: ${types.join(', ')}`,
  );
  assert.ok(seen.length >= 20, `sampled ${seen.length} times`);
  assert.ok(
    seen.every((ports) => ports.length === 1),
    `one connection at every sample: ${JSON.stringify(seen.filter((p) => p.length !== 1).slice(0, 5))}`,
  );
  assert.equal(new Set(seen.flat()).size, 1, `the same connection throughout: ports ${[...new Set(seen.flat())].join(', ')}`);
  // Heartbeats (every lease / 3 = 500 ms) overtook parked polls: each answered a poll early.
  assert.ok((await metric('par_cp_longpoll_yields_total')) - yields0 >= 3, 'heartbeats ended parked polls');
  assert.ok((await metric('par_cp_runner_health_checks_total{via="poll"}')) >= 1, 'health rides on the polls');
  assert.equal(await metric('par_cp_runner_health_checks_total{via="endpoint"}'), 0, 'no separate health call while polling');
});
