/**
 * The runner's health checks against the real control plane (HTTP on a loopback port, real
 * Redis): a running runner shows `ready` with its version, platform, allowlist and capacity; a
 * stopped runner goes `offline` once PAR_RUNNER_OFFLINE_AFTER_MS has passed without a check; a
 * runner whose own Redis does not answer reports itself `unhealthy`, saying why. A polling runner
 * carries its checks on its polls (no separate health calls while it polls); a check carried on a
 * dequeue is recorded like one sent to the health endpoint, which still works.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { loadControlPlaneConfig } from '../../src/config/control-plane.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { runControlPlane, type RunningControlPlane } from '../../src/control-plane/server.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { freePort } from '../../src/cli/local-redis.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { ControlPlaneClient } from '../../src/runner/control-plane-client.js';
import { HealthReporter, platformDescription, snapshotRunnerHealth } from '../../src/runner/health-reporter.js';
import { runRunner, type RunningRunner } from '../../src/runner/main.js';
import { PACKAGE_VERSION } from '../../src/version.js';
import { TEST_REDIS_URL, connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const redis = connectRedis();
const apiKey = randomBytes(16).toString('hex');
const appKey = randomBytes(20).toString('hex');
const cleanups: (() => Promise<unknown>)[] = [];
const OFFLINE_AFTER_MS = 1_000;

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await redis.quit();
});

interface View {
  id: string;
  status?: string;
  health?: {
    version: string;
    platform: string;
    allowlist: string[];
    capacity: number;
    inFlight: number;
    healthy?: boolean;
    problems?: string[];
  };
}

async function startControlPlane(): Promise<RunningControlPlane> {
  const keyPrefix = uniquePrefix('cp-health');
  const cp = await runControlPlane(
    loadControlPlaneConfig(
      {},
      {
        port: 0,
        keyPrefix,
        adminApiKey: apiKey,
        adminAppKey: appKey,
        redisUrl: TEST_REDIS_URL,
        logLevel: 'silent',
        runnerOfflineAfterMs: OFFLINE_AFTER_MS,
      },
    ),
    logger,
  );
  cleanups.push(
    () => deleteKeys(redis, keyPrefix),
    () => cp.close(),
  );
  return cp;
}

async function startRunner(cp: RunningControlPlane, label: string, redisUrl: string): Promise<RunningRunner> {
  const dir = await tempDir(`health-${label}`);
  const queuePrefix = uniquePrefix(`health-q-${label}`);
  cleanups.push(
    () => dir.remove(),
    () => deleteKeys(redis, queuePrefix),
  );
  const runner = await runRunner(
    loadRunnerConfig(
      {},
      {
        controlPlaneUrl: cp.url,
        apiKey,
        appKey,
        withApiKey: true,
        runnerName: `health-${label}-${randomBytes(3).toString('hex')}`,
        configDir: dir.path,
        redisUrl,
        queuePrefix,
        adminPort: 0,
        allowlist: ['com.datadoghq.http.request'],
        capacity: 7,
        healthIntervalMs: 100,
        pollWaitMs: 200,
      },
    ),
    logger,
  );
  cleanups.push(() => runner.close());
  return runner;
}

/** A counter of the control plane's /metrics (0 when absent). */
async function metric(cp: RunningControlPlane, series: string): Promise<number> {
  const res = await request(`${cp.url}/metrics`);
  const text = await res.body.text();
  const escaped = series.replace(/[{}"=]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

async function viewOf(cp: RunningControlPlane, runnerId: string): Promise<View> {
  const res = await request(`${cp.url}/api/v1/runners/${runnerId}`, { headers: { 'dd-application-key': appKey } });
  const body = (await res.body.json()) as View;
  assert.equal(res.statusCode, 200, JSON.stringify(body));
  return body;
}

/** Polls the runner's view until `check` holds (at most 10 s); fails showing the last view. */
async function waitForView(cp: RunningControlPlane, runnerId: string, check: (v: View) => boolean): Promise<View> {
  let last: View | undefined;
  try {
    return await waitUntil(
      async () => {
        last = await viewOf(cp, runnerId);
        return check(last) ? last : undefined;
      },
      10_000,
      'the runner view',
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last view: ${JSON.stringify(last)}`, { cause: error });
  }
}

test('a running runner is ready with its health; stopped, it goes offline after the window', async () => {
  const cp = await startControlPlane();
  const runner = await startRunner(cp, 'ok', TEST_REDIS_URL);
  const id = runner.identity.runnerId;
  // Ready as soon as it polls; its first health report may land a moment later.
  const ready = await waitForView(cp, id, (v) => v.status === 'ready' && v.health !== undefined);
  assert.equal(ready.status, 'ready', JSON.stringify(ready));
  assert.equal(ready.health?.version, PACKAGE_VERSION);
  assert.match(ready.health.platform, new RegExp(`^${process.platform}-${process.arch} node v\\d+`));
  assert.deepEqual(ready.health.allowlist, ['com.datadoghq.http.request']);
  assert.equal(ready.health.capacity, 7);
  assert.equal(ready.health.inFlight, 0);

  await runner.close();
  const offline = await waitForView(cp, id, (v) => v.status === 'offline');
  assert.equal(offline.status, 'offline', JSON.stringify(offline));
});

test('a runner whose Redis does not answer reports itself unhealthy, saying why', async () => {
  const cp = await startControlPlane();
  const client = new ControlPlaneClient({ baseUrl: cp.url });
  // Nothing listens on this port; no offline queue and no reconnects, so a ping fails at once.
  const deadRedis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  deadRedis.on('error', () => undefined);
  cleanups.push(
    () => client.close(),
    async () => deadRedis.disconnect(),
  );
  const keys = await generateSigningKeyPair();
  const enrolled = await client.enroll(apiKey, appKey, {
    name: `health-dead-redis-${randomBytes(3).toString('hex')}`,
    publicKey: keys.publicJwk as Record<string, unknown> & { kty: string },
    allowlist: [],
    version: 'test',
  });
  assert.ok(enrolled.ok, enrolled.ok ? '' : enrolled.error.message);
  client.setTokenSource(new RunnerTokenMinter(enrolled.value.runnerId, await importSigningKey(keys.privateJwk)));

  let pollOk = true;
  const reporter = new HealthReporter({
    send: (report, signal) => client.health(report, signal),
    snapshot: () =>
      snapshotRunnerHealth({
        pingRedis: () => deadRedis.ping(),
        countInFlight: () => Promise.resolve(0),
        pollStatus: () =>
          pollOk
            ? { at: Date.now(), ok: true, consecutiveFailures: 0 }
            : { at: Date.now(), ok: false, consecutiveFailures: 3, error: { code: 'PAR_ERR_INTERNAL' } },
      }),
    version: 'test',
    platform: platformDescription(),
    allowlist: [],
    capacity: 1,
    intervalMs: 60_000,
    logger,
  });
  await reporter.reportOnce();
  let view = await viewOf(cp, enrolled.value.runnerId);
  assert.equal(view.status, 'unhealthy', JSON.stringify(view));
  assert.equal(view.health?.healthy, false);
  assert.deepEqual(view.health.problems, ['runner Redis unreachable (REDIS_URL): tasks cannot be queued for workers']);

  pollOk = false;
  await reporter.reportOnce();
  view = await viewOf(cp, enrolled.value.runnerId);
  assert.equal(view.health?.problems?.length, 2);
  assert.match(view.health.problems[1] ?? '', /polling the control plane fails: PAR_ERR_INTERNAL \(3 failed polls\)/);
});

test('a polling runner carries its health checks on its polls: recorded, and no separate health call', async () => {
  const cp = await startControlPlane();
  const runner = await startRunner(cp, 'carried', TEST_REDIS_URL);
  const id = runner.identity.runnerId;
  const ready = await waitForView(cp, id, (v) => v.status === 'ready' && v.health !== undefined);
  assert.equal(ready.health?.version, PACKAGE_VERSION);
  assert.equal(ready.health.capacity, 7);
  // Checks are due every 100 ms: several go out, every one on a poll.
  await waitUntil(
    async () => ((await metric(cp, 'par_cp_runner_health_checks_total{via="poll"}')) >= 5 ? true : undefined),
    10_000,
    'checks on polls',
  );
  const first = (await viewOf(cp, id)).health as unknown as { receivedAt: number };
  const later = await waitForView(cp, id, (v) => (v.health as unknown as { receivedAt: number }).receivedAt > first.receivedAt);
  assert.equal(later.status, 'ready');
  assert.equal(await metric(cp, 'par_cp_runner_health_checks_total{via="endpoint"}'), 0, 'no check went through the health endpoint');
  // A poll waits at most until the next check is due, and that check rides on the next poll: one
  // request per interval, nearly every poll carrying a check (not every other one).
  const [polls, carried] = [await metric(cp, 'par_cp_longpolls_total'), await metric(cp, 'par_cp_runner_health_checks_total{via="poll"}')];
  assert.ok(carried >= 0.8 * polls, `${carried} of ${polls} polls carried a check`);
  await runner.close();
});

test('a health check carried on a dequeue is recorded; the health endpoint still records one too', async () => {
  const cp = await startControlPlane();
  const client = new ControlPlaneClient({ baseUrl: cp.url });
  cleanups.push(() => client.close());
  const keys = await generateSigningKeyPair();
  const enrolled = await client.enroll(apiKey, appKey, {
    name: `health-wire-${randomBytes(3).toString('hex')}`,
    publicKey: keys.publicJwk as Record<string, unknown> & { kty: string },
    allowlist: [],
    version: 'test',
  });
  assert.ok(enrolled.ok, enrolled.ok ? '' : enrolled.error.message);
  const runnerId = enrolled.value.runnerId;
  client.setTokenSource(new RunnerTokenMinter(runnerId, await importSigningKey(keys.privateJwk)));
  const report = { version: 'on-the-poll', platform: 'test', allowlist: ['a.b'], capacity: 3, inFlight: 1, healthy: true, problems: [] };

  const polled = await client.dequeue({ max: 1, waitMs: 0, health: report });
  assert.ok(polled.ok, polled.ok ? '' : polled.error.message);
  let view = await viewOf(cp, runnerId);
  assert.equal(view.status, 'ready', JSON.stringify(view));
  assert.deepEqual(
    { version: view.health?.version, allowlist: view.health?.allowlist, capacity: view.health?.capacity, inFlight: view.health?.inFlight },
    { version: 'on-the-poll', allowlist: ['a.b'], capacity: 3, inFlight: 1 },
  );

  const sent = await client.health({ ...report, version: 'on-the-endpoint', healthy: false, problems: ['broken'] });
  assert.ok(sent.ok, sent.ok ? '' : sent.error.message);
  view = await viewOf(cp, runnerId);
  assert.equal(view.status, 'unhealthy', JSON.stringify(view));
  assert.equal(view.health?.version, 'on-the-endpoint');
  assert.equal(await metric(cp, 'par_cp_runner_health_checks_total{via="poll"}'), 1);
  assert.equal(await metric(cp, 'par_cp_runner_health_checks_total{via="endpoint"}'), 1);
});
