/**
 * docker-compose.yaml, as `docker-compose config` resolves it (issue 11): an operator can trust
 * it. Healthchecks run `par healthcheck <role>` (and that command fails against an absent
 * process), every dependency waits for health, stop grace periods outlast the drains, the control
 * plane and the runner each have their own Redis (AOF, noeviction), ports are on loopback only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { freePort } from '../../src/cli/local-redis.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { ABORT_WINDOW_MS } from '../../workers/main.js';
import { PAR_BIN } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[]; interval?: string; timeout?: string; retries?: number };
  ports?: Array<string | { host_ip?: string }>;
  stop_grace_period?: string;
}

async function resolved(): Promise<Record<string, Service>> {
  const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yaml', 'config'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '' },
  });
  return (parse(stdout) as { services: Record<string, Service> }).services;
}

/** "1m30s", "40s", "500ms" -> milliseconds. */
function durationMs(text: string | undefined): number {
  assert.ok(text, 'a duration is set');
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(n) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  return total;
}

const OUR_IMAGE = 'private-action-runner:local';

test('docker-compose.yaml passes `docker-compose config -q` with no variables set', async () => {
  const { stderr } = await run('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q'], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '' },
  });
  assert.equal(stderr.trim(), '');
});

test("two Redis (control plane, runner), each with AOF and noeviction; workers share the runner's", async () => {
  const services = await resolved();
  const cp = services['control-plane'];
  const runner = services['runner'];
  const worker = services['worker'];
  assert.ok(cp && runner && worker);
  const hostOf = (url: string | undefined): string => new URL(url ?? 'missing://').hostname;
  const cpRedis = hostOf(cp.environment?.['PAR_CP_REDIS_URL']);
  const runnerRedis = hostOf(runner.environment?.['REDIS_URL']);
  assert.notEqual(cpRedis, runnerRedis, 'the control plane and the runner do not share a Redis');
  assert.equal(hostOf(worker.environment?.['REDIS_URL']), runnerRedis);
  for (const name of [cpRedis, runnerRedis]) {
    const redis = services[name];
    assert.ok(redis, `service ${name} exists`);
    const cmd = (redis.command ?? []).join(' ');
    assert.match(cmd, /--appendonly yes/, name);
    assert.match(cmd, /--maxmemory-policy noeviction/, name);
    assert.deepEqual(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping']);
  }
  assert.equal(worker.deploy?.replicas, 3);
});

test('every dependency waits for health; the chain is redis -> control plane -> runner -> workers', async () => {
  const services = await resolved();
  for (const [name, svc] of Object.entries(services)) {
    assert.ok(svc.healthcheck?.test && svc.healthcheck.test.length > 0, `${name} has a healthcheck`);
    assert.ok(!Array.isArray(svc.depends_on), `${name}: depends_on with conditions, not a plain list`);
    for (const [dep, spec] of Object.entries(svc.depends_on ?? {})) {
      assert.equal(spec.condition, 'service_healthy', `${name} waits for ${dep} to be healthy`);
    }
  }
  const deps = (name: string): string[] => Object.keys(services[name]?.depends_on ?? {}).sort();
  assert.deepEqual(deps('control-plane'), ['control-plane-redis']);
  assert.deepEqual(deps('runner'), ['control-plane', 'runner-redis']);
  assert.deepEqual(deps('worker'), ['runner', 'runner-redis']);
});

test("our services' healthchecks run `par healthcheck <their role>`, and each fails against an absent process", async () => {
  const services = await resolved();
  const ours = Object.entries(services).filter(([, s]) => s.image === OUR_IMAGE);
  assert.deepEqual(ours.map(([n]) => n).sort(), ['control-plane', 'runner', 'worker']);
  const dir = await tempDir('compose-hc');
  try {
    for (const [name, svc] of ours) {
      const role = svc.command?.[0];
      assert.equal(role, name);
      assert.deepEqual(
        svc.healthcheck?.test,
        ['CMD', 'node', '/app/bin/par.js', 'healthcheck', role],
        `${name} runs par healthcheck ${role}`,
      );
      // The same command on this host, with the service's settings but ports nobody listens on
      // and a liveness file nobody writes: the process it checks is absent, so it must fail.
      const port = String(await freePort());
      const env = {
        ...svc.environment,
        PAR_CP_PORT: port,
        PAR_RUNNER_ADMIN_PORT: port,
        PAR_RUNNER_ADMIN_HOST: '127.0.0.1',
        ...(role === 'worker' ? { PAR_WORKER_LIVENESS_FILE: join(dir.path, 'absent.alive') } : {}),
        PATH: process.env['PATH'] ?? '',
      };
      const args = svc.healthcheck.test.slice(2).map((a) => (a === '/app/bin/par.js' ? PAR_BIN : a));
      const outcome = await run(process.execPath, args, { env, timeout: 60_000 }).then(
        () => 0,
        (e: unknown) => (e as { code?: number }).code,
      );
      assert.equal(outcome, 1, `${name}: par healthcheck ${role} exits 1 when no ${role} runs`);
    }
  } finally {
    await dir.remove();
  }
});

test('stop grace periods outlast the drains; ports are published on loopback only', async () => {
  const services = await resolved();
  const worker = services['worker']!;
  const runner = services['runner']!;
  const workerConfig = loadWorkerConfig(worker.environment ?? {});
  const runnerConfig = loadRunnerConfig(runner.environment ?? {});
  // a worker: the grace, the abort window, then closing queues and connections (bounded at ~5 s)
  assert.ok(
    durationMs(worker.stop_grace_period) >= workerConfig.graceMs + ABORT_WINDOW_MS + 5_000,
    `worker stop_grace_period ${worker.stop_grace_period} vs grace ${workerConfig.graceMs} ms`,
  );
  assert.ok(
    durationMs(runner.stop_grace_period) >= runnerConfig.drainMs + 5_000,
    `runner stop_grace_period ${runner.stop_grace_period} vs drain ${runnerConfig.drainMs} ms`,
  );
  assert.ok(workerConfig.livenessFile, 'workers write the liveness file their healthcheck reads');
  for (const [name, svc] of Object.entries(services)) {
    for (const port of svc.ports ?? []) {
      const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
      assert.equal(hostIp, '127.0.0.1', `${name}: ${JSON.stringify(port)} is published on loopback only`);
    }
  }
  assert.ok((runner.ports ?? []).length > 0, "the runner's admin port (health, metrics, bull-board) is published, on loopback");
});
