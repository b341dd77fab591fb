/**
 * Result publisher, lease keeper and poll loop against a real Redis, with a scripted control plane
 * (no HTTP): retries through an outage, drops stale results, cleans finished leases, respects
 * capacity, backs off, stops on an unknown-runner answer.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { RESULTS_QUEUE, leasesKey, type ResultJobData } from '../../src/contracts/jobs.js';
import type { Delivery, DequeueResponse, HeartbeatResponse, PublishResponse } from '../../src/contracts/runner-api.js';
import type { TaskOutcome } from '../../src/contracts/task.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import type { ClientResult, LeaseRef } from '../../src/runner/control-plane-client.js';
import { LeaseKeeper } from '../../src/runner/lease-keeper.js';
import { LeaseStore } from '../../src/runner/lease-store.js';
import { PollLoop } from '../../src/runner/poll-loop.js';
import { ResultPublisher } from '../../src/runner/result-publisher.js';
import { resultJobOptions, RESULT_JOB_NAME } from '../../src/contracts/job-options.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const redis = connectRedis();
const prefixes: string[] = [];
after(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  await redis.quit();
});

function fresh(label: string): { prefix: string; leases: LeaseStore; results: Queue<ResultJobData> } {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return {
    prefix,
    leases: new LeaseStore(redis, prefix, 'rnr_1'),
    results: new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix }),
  };
}

const outcome: TaskOutcome = { kind: 'succeeded', output: { status: 200 }, attempts: 1, durationMs: 3 };
const down = (): ClientResult<never> => ({
  ok: false,
  kind: 'network',
  error: new ParError('PAR_ERR_INTERNAL', 'control plane unreachable (ECONNREFUSED)'),
});
const httpError = (code: ParError['code'], status: number): ClientResult<never> => ({
  ok: false,
  kind: 'http',
  status,
  error: new ParError(code),
});

test('publisher: retries through an outage (network, 503), then publishes once under the newest lease and removes it', async () => {
  const { prefix, leases, results } = fresh('runner-pub');
  const calls: Array<{ taskId: string; leaseToken: string }> = [];
  const answers: Array<() => ClientResult<PublishResponse>> = [
    down,
    () => httpError('PAR_ERR_INTERNAL', 503),
    () => ({ ok: true, value: { status: 'recorded' } }),
  ];
  await leases.record([{ taskId: 't1', leaseToken: 'old' }]);
  await leases.record([{ taskId: 't1', leaseToken: 'new' }]);
  const publisher = new ResultPublisher({
    connection: redis,
    queuePrefix: prefix,
    leases,
    publishBackoffMaxMs: 20,
    onFatal: () => undefined,
    logger,
    publish: async (items) =>
      items.map(({ taskId, leaseToken }) => {
        calls.push({ taskId, leaseToken });
        return (answers.shift() ?? (() => ({ ok: true as const, value: { status: 'duplicate' as const } })))();
      }),
  });
  try {
    // Added as the workers add results: no BullMQ attempts; the publisher must still retry.
    await results.add(RESULT_JOB_NAME, { taskId: 't1', outcome }, resultJobOptions('t1'));
    const job = await waitUntil(
      async () => {
        // Read the job again once it is completed: a copy read before that has no return value yet.
        const j = await results.getJob('t1');
        return (await j?.isCompleted()) ? results.getJob('t1') : undefined;
      },
      5000,
      'result published',
    );
    assert.equal(calls.length, 3);
    assert.ok(
      calls.every((c) => c.leaseToken === 'new'),
      'always the newest token',
    );
    assert.deepEqual(job.returnvalue, { status: 'recorded' });
    assert.equal(await redis.hget(leasesKey(prefix, 'rnr_1'), 't1'), null, 'lease removed after recording');
  } finally {
    await publisher.close();
    await results.close();
  }
});

test('publisher: a stale lease (409) or an unknown task (404) is dropped, not retried', async () => {
  const { prefix, leases, results } = fresh('runner-pub-drop');
  const calls: string[] = [];
  await leases.record([
    { taskId: 'stale', leaseToken: 'a' },
    { taskId: 'gone', leaseToken: 'b' },
  ]);
  const publisher = new ResultPublisher({
    connection: redis,
    queuePrefix: prefix,
    leases,
    publishBackoffMaxMs: 20,
    onFatal: () => undefined,
    logger,
    publish: async (items) =>
      items.map(({ taskId }) => {
        calls.push(taskId);
        return taskId === 'stale' ? httpError('PAR_ERR_LEASE_STALE', 409) : httpError('PAR_ERR_NOT_FOUND', 404);
      }),
  });
  try {
    await results.add(RESULT_JOB_NAME, { taskId: 'stale', outcome }, resultJobOptions('stale'));
    await results.add(RESULT_JOB_NAME, { taskId: 'gone', outcome }, resultJobOptions('gone'));
    for (const id of ['stale', 'gone']) {
      await waitUntil(async () => ((await (await results.getJob(id))?.isCompleted()) ? true : undefined), 5000, `${id} completed`);
    }
    assert.deepEqual(calls.sort(), ['gone', 'stale']);
    assert.equal((await results.getJob('stale'))?.returnvalue.status, 'dropped');
  } finally {
    await publisher.close();
    await results.close();
  }
});

test('publisher: results queued while the runner was stopped are published by the next one (jobs live in Redis)', async () => {
  const { prefix, leases, results } = fresh('runner-pub-restart');
  await leases.record([{ taskId: 'r1', leaseToken: 'l1' }]);
  await results.add(RESULT_JOB_NAME, { taskId: 'r1', outcome }, resultJobOptions('r1'));
  const published: string[] = [];
  const publisher = new ResultPublisher({
    connection: redis,
    queuePrefix: prefix,
    leases,
    publishBackoffMaxMs: 20,
    onFatal: () => undefined,
    logger,
    publish: async (items) =>
      items.map(({ taskId }) => {
        published.push(taskId);
        return { ok: true as const, value: { status: 'recorded' as const } };
      }),
  });
  try {
    await waitUntil(() => (published.length > 0 ? true : undefined), 5000, 'published');
    assert.deepEqual(published, ['r1']);
  } finally {
    await publisher.close();
    await results.close();
  }
});

test('lease keeper: one batch heartbeat per tick; final, unknown and stale leases are removed, live ones kept', async () => {
  const { leases, results } = fresh('runner-keeper');
  await results.close();
  await leases.record([
    { taskId: 'live', leaseToken: '1' },
    { taskId: 'done', leaseToken: '2' },
    { taskId: 'lost', leaseToken: '3' },
    { taskId: 'moved', leaseToken: '4' },
  ]);
  const sent: LeaseRef[][] = [];
  const status: Record<string, HeartbeatResponse['leases'][number]['status']> = {
    live: 'ok',
    done: 'final',
    lost: 'unknown',
    moved: 'stale',
  };
  const keeper = new LeaseKeeper({
    leases,
    intervalMs: 20,
    onFatal: () => undefined,
    logger,
    heartbeat: async (batch) => {
      sent.push([...batch]);
      return { ok: true, value: { leases: batch.map((l) => ({ taskId: l.taskId, status: status[l.taskId] ?? 'unknown' })) } };
    },
  });
  const report = await keeper.tick();
  assert.equal(sent.length, 1, 'one call for all leases');
  assert.equal(sent[0]?.length, 4);
  assert.deepEqual(report, { sent: 4, extended: 1, removed: 3, failed: false, handedBack: 0, lost: 0, cancelled: 0 });
  assert.deepEqual(await leases.all(), [{ taskId: 'live', leaseToken: '1' }]);

  // Runs on its own timer and survives failures.
  let failing = true;
  const timed = new LeaseKeeper({
    leases,
    intervalMs: 20,
    onFatal: () => undefined,
    logger,
    heartbeat: async (batch) => {
      sent.push([...batch]);
      return failing ? down() : { ok: true, value: { leases: [] } };
    },
  });
  timed.start();
  await waitUntil(() => (sent.length >= 3 ? true : undefined), 2000, 'heartbeats on the timer');
  failing = false;
  await timed.stop();
  assert.equal(await leases.count(), 1, 'a failed heartbeat removes nothing');
});

test('lease keeper: a control plane granting short leases gets heartbeats at least three times per lease', async () => {
  const { leases, results } = fresh('runner-keeper-short');
  await results.close();
  await leases.record([{ taskId: 'live', leaseToken: '1' }]);
  const at: number[] = [];
  const keeper = new LeaseKeeper({
    leases,
    intervalMs: 60_000,
    onFatal: () => undefined,
    logger,
    heartbeat: async (batch) => {
      at.push(Date.now());
      return {
        ok: true,
        value: { leases: batch.map((l) => ({ taskId: l.taskId, status: 'ok' as const, leaseExpiresAt: Date.now() + 600 })) },
      };
    },
  });
  assert.equal(keeper.intervalMs(), 60_000, 'the configured interval until a lease is seen');
  keeper.start();
  keeper.observeLeaseExpiry(Date.now() + 600);
  assert.ok(keeper.intervalMs() <= 200, `interval ${keeper.intervalMs()}`);
  await waitUntil(() => (at.length >= 4 ? true : undefined), 3000, 'heartbeats well within the 600 ms lease, not after 60 s');
  await keeper.stop();
  for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! < 600, 'every lease is renewed before it lapses');
});

test('lease keeper: a token refreshed between the read and the removal is kept', async () => {
  const { leases, results } = fresh('runner-keeper-race');
  await results.close();
  await leases.record([{ taskId: 't', leaseToken: 'old' }]);
  const keeper = new LeaseKeeper({
    leases,
    intervalMs: 1000,
    onFatal: () => undefined,
    logger,
    heartbeat: async () => {
      await leases.record([{ taskId: 't', leaseToken: 'new' }]); // a redelivery lands meanwhile
      return { ok: true, value: { leases: [{ taskId: 't', status: 'stale' }] } };
    },
  });
  await keeper.tick();
  assert.equal(await leases.get('t'), 'new');
});

function delivery(taskId: string): Delivery {
  return { taskId, attempt: 1, leaseToken: 'l', leaseExpiresAt: Date.now() + 1000, signedTask: 'x.y.z' };
}

const FULL_RECHECK_MS = 5;

test('poll loop: asks for capacity - inFlight, skips polling while full, hands deliveries to intake', async () => {
  let inFlight = 3;
  const requests: Array<{ max: number; waitMs: number }> = [];
  const handed: string[] = [];
  const loop = new PollLoop({
    capacity: 5,
    waitMs: 50,
    backoffMaxMs: 20,
    fullRecheckMs: FULL_RECHECK_MS,
    logger,
    onFatal: () => undefined,
    inFlight: async () => inFlight,
    intake: async (ds) => {
      handed.push(...ds.map((d) => d.taskId));
      inFlight += ds.length;
    },
    dequeue: async (request): Promise<ClientResult<DequeueResponse>> => {
      requests.push(request);
      await new Promise((r) => setTimeout(r, 5)); // a real request takes time; an instant one would starve timers
      return { ok: true, value: { tasks: requests.length === 1 ? [delivery('a'), delivery('b')] : [] } };
    },
  });
  loop.start();
  await waitUntil(() => (handed.length === 2 ? true : undefined), 2000, 'intake');
  // Full now: over many recheck periods, no poll goes out (one already in flight may finish first).
  await new Promise((r) => setTimeout(r, FULL_RECHECK_MS * 10));
  const whileFull = requests.length;
  await new Promise((r) => setTimeout(r, FULL_RECHECK_MS * 10));
  assert.equal(requests.length, whileFull, 'no polling while full');
  inFlight = 4;
  await waitUntil(() => (requests.length > whileFull ? true : undefined), 2000, 'polling resumes');
  await loop.stop();
  assert.deepEqual(requests[0], { max: 2, waitMs: 0 }, 'first poll: room for 2, no wait');
  assert.deepEqual(requests.at(-1), { max: 1, waitMs: 50 });
  assert.equal(loop.status.ok, true);
});

test('poll loop: backs off (capped) on errors and stops promptly, aborting the pending long poll', async () => {
  const WAIT_MS = 10_000;
  const BACKOFF_MAX_MS = 80;
  const times: number[] = [];
  let n = 0;
  const loop = new PollLoop({
    capacity: 5,
    waitMs: WAIT_MS,
    backoffMaxMs: BACKOFF_MAX_MS,
    logger,
    onFatal: () => undefined,
    inFlight: async () => 0,
    intake: async () => undefined,
    dequeue: async (_req, signal): Promise<ClientResult<DequeueResponse>> => {
      times.push(Date.now());
      n += 1;
      await new Promise((r) => setTimeout(r, 1));
      if (n <= 5) return down();
      // A long poll that only ends when the loop is stopped (as undici does, also when it was stopped already).
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return { ok: false, kind: 'aborted', error: new ParError('PAR_ERR_INTERNAL', 'aborted') };
    },
  });
  loop.start();
  await waitUntil(() => (n >= 6 ? true : undefined), 3000, 'retries');
  assert.equal(loop.status.ok, false);
  assert.equal(loop.status.consecutiveFailures, 5);
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
  // Uncapped, the fifth delay would be at least 2 x BACKOFF_MAX_MS (initial 20 ms doubling, half jitter).
  assert.ok(
    gaps.every((g) => g < 2 * BACKOFF_MAX_MS),
    `capped at ${BACKOFF_MAX_MS} ms: ${gaps.join(',')}`,
  );
  const started = Date.now();
  await loop.stop();
  assert.ok(Date.now() - started < WAIT_MS / 2, 'stop aborts the pending long poll rather than wait it out');
});

test('poll loop: PAR_ERR_AUTH_RUNNER_UNKNOWN is fatal and stops polling', async () => {
  const BACKOFF_MAX_MS = 20;
  let calls = 0;
  let fatal: ParError | undefined;
  const loop = new PollLoop({
    capacity: 5,
    waitMs: 10,
    backoffMaxMs: BACKOFF_MAX_MS,
    logger,
    onFatal: (e) => {
      fatal = e;
    },
    inFlight: async () => 0,
    intake: async () => undefined,
    dequeue: async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 1));
      return httpError('PAR_ERR_AUTH_RUNNER_UNKNOWN', 401);
    },
  });
  loop.start();
  await waitUntil(() => fatal, 2000, 'fatal');
  await new Promise((r) => setTimeout(r, BACKOFF_MAX_MS * 5)); // several retries' worth, had it kept polling
  assert.equal(calls, 1);
  assert.equal(fatal?.code, 'PAR_ERR_AUTH_RUNNER_UNKNOWN');
  await loop.stop();
});
