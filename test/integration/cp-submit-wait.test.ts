/**
 * Submit-and-wait (POST /api/v1/tasks?wait=) and the done message that carries a task's final
 * fields: the answer is the final task when a result lands inside the wait (even at once, right
 * after the task is stored), the queued task when the wait ends first, a replay waits too, and a
 * woken waiter answers from the message, not from a read of the task (a crafted message whose
 * fields differ from the stored task shows which one answered). Every script that makes a task
 * final publishes a message that parses to what the task then reads. The CLI's client
 * (ApiClient.submitAndWait, used by `par task run --wait`) sends one request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { ApiClient } from '../../src/cli/api-client.js';
import { loadCliConfig } from '../../src/config/cli.js';
import { ADMIN_API } from '../../src/contracts/admin-api.js';
import { TASKS_API, taskViewSchema, type TaskView } from '../../src/contracts/tasks-api.js';
import { IDEMPOTENCY_KEY_HEADER } from '../../src/contracts/idempotency.js';
import { sweepExpiredLeases } from '../../src/control-plane/store/lease-sweep.js';
import { leaseReadyTasks } from '../../src/control-plane/store/leases.js';
import { recordResult } from '../../src/control-plane/store/results.js';
import { newLeaseTokenSeed } from '../../src/control-plane/dispatch.js';
import { parseTaskDone, taskDoneId, MAX_INLINE_OUTCOME } from '../../src/control-plane/task-done-message.js';
import { waitUntil } from '../helpers/wait.js';
import { startHarness, succeeded, type Harness, type TestRunner } from './control-plane-harness.js';

const LEASE_MS = 2_000;
let h: Harness;
let runner: TestRunner;
let subscriber: Redis;
const messages: string[] = [];

before(async () => {
  h = await startHarness('submit-wait', { leaseMs: LEASE_MS, maxDeliveries: 1 });
  runner = await h.enroll();
  subscriber = h.redis.duplicate();
  subscriber.on('message', (_channel: string, message: string) => messages.push(message));
  await subscriber.subscribe(h.deps.ks.doneChannel);
});

after(async () => {
  subscriber.disconnect();
  await h.close();
});

interface Answer {
  statusCode: number;
  view: TaskView;
  replayed: string | undefined;
  ms: number;
}

async function submitWait(
  waitMs: number,
  options: { key?: string; inputs?: Record<string, unknown>; on?: TestRunner } = {},
): Promise<Answer> {
  const started = Date.now();
  const res = await h.app.inject({
    method: 'POST',
    url: `${TASKS_API.submit}?wait=${waitMs}`,
    headers: { ...h.appHeaders(), ...(options.key !== undefined ? { [IDEMPOTENCY_KEY_HEADER]: options.key } : {}) },
    payload: {
      runner: (options.on ?? runner).runnerId,
      action: 'com.datadoghq.http.request',
      inputs: options.inputs ?? { url: 'http://example.test/', n: randomBytes(4).toString('hex') },
    },
  });
  const header = res.headers['idempotent-replayed'];
  return {
    statusCode: res.statusCode,
    view: taskViewSchema.parse(JSON.parse(res.body)),
    replayed: typeof header === 'string' ? header : undefined,
    ms: Date.now() - started,
  };
}

/** Plays the runner once: takes the next task (long-poll) and records `output` as its result. */
async function runOne(output: unknown, on: TestRunner = runner): Promise<string> {
  const [delivery] = await h.dequeue(on, { max: 1, waitMs: 10_000 });
  assert.ok(delivery, 'the runner got the task');
  const res = await h.publish(on, delivery.taskId, delivery.leaseToken, succeeded(output));
  assert.equal(res.statusCode, 200);
  return delivery.taskId;
}

test('submit with wait answers the final task when the result is recorded inside the wait', async () => {
  const WAIT_MS = 20_000;
  const answering = submitWait(WAIT_MS);
  const taskId = await runOne({ answer: 42 });
  const answer = await answering;
  assert.equal(answer.statusCode, 201, 'a new task is 201, waited for or not');
  assert.equal(answer.view.id, taskId);
  assert.equal(answer.view.state, 'succeeded');
  assert.deepEqual(answer.view.outcome?.output, { answer: 42 });
  assert.equal(answer.view.attempts, 1);
  assert.ok(answer.view.finishedAt !== undefined);
  assert.deepEqual(answer.view, taskViewSchema.parse((await h.request('GET', TASKS_API.get(taskId), { headers: h.appHeaders() })).body));
  assert.ok(answer.ms < WAIT_MS / 2, `answered after ${answer.ms} ms`);
  assert.equal(h.deps.wakeups.size, 0, 'waiter released');
});

test('submit with wait answers the queued task when the wait ends first, about when asked', async () => {
  const other = await h.enroll(); // nobody takes its tasks
  const answer = await submitWait(300, { on: other });
  assert.equal(answer.statusCode, 201);
  assert.equal(answer.view.state, 'queued');
  assert.equal(answer.view.attempts, 0);
  assert.ok(answer.ms >= 290, `answered after ${answer.ms} ms, before the wait ended`);
  assert.ok(answer.ms < 3_000, `answered after ${answer.ms} ms for a 300 ms wait`);
  assert.equal(h.deps.wakeups.size, 0, 'waiter released');
  // Without wait, the same route answers at once (the existing contract).
  const res = await h.request('POST', TASKS_API.submit, {
    headers: h.appHeaders(),
    body: { runner: other.runnerId, action: 'com.datadoghq.http.request' },
  });
  assert.equal(res.statusCode, 201);
  assert.equal(taskViewSchema.parse(res.body).state, 'queued');
  // The wait is bounded like GET ?wait=.
  const tooLong = await h.request('POST', `${TASKS_API.submit}?wait=60001`, {
    headers: h.appHeaders(),
    body: { runner: other.runnerId, action: 'com.datadoghq.http.request' },
  });
  assert.equal(tooLong.statusCode, 400);
});

test('a result recorded right after the task is stored (before the handler waits) is not missed', async () => {
  // The worst case, made certain: the submit script's reply is held back from the handler until
  // the task was leased and its result recorded (on another connection), and the control plane's
  // own subscriber has read the done message. A waiter armed only once the reply is in would have
  // missed that message and answered when the wait ends; the one armed before the store answers now.
  const WAIT_MS = 5_000;
  const fast = await h.enroll();
  const recorder = h.redis.duplicate();
  // The control plane's subscriber connection: a PING answered on it means every message Redis
  // sent it before (the done message) has been read.
  const cpSubscriber = (h.deps.wakeups as unknown as { subscriber: Redis }).subscriber;
  const original = h.redis.sendCommand.bind(h.redis);
  let held = 0;
  const isSubmitOfFast = (args: unknown[]): boolean =>
    String(args[2]).startsWith(h.deps.ks.taskPrefix) && args.map(String).includes(h.deps.ks.ready(fast.runnerId));
  h.redis.sendCommand = (command: Parameters<typeof original>[0], stream?: Parameters<typeof original>[1]) => {
    const reply = original(command, stream) as Promise<unknown>;
    if ((command.name !== 'evalsha' && command.name !== 'eval') || !isSubmitOfFast(command.args)) return reply;
    held += 1;
    return reply.then(async (value) => {
      const now = Date.now();
      const { leased } = await leaseReadyTasks(recorder, h.deps.ks, fast.runnerId, 1, newLeaseTokenSeed(), now, LEASE_MS);
      const [task] = leased;
      assert.ok(task, 'the task is stored before its reply reaches the handler');
      const outcome = succeeded({ early: true });
      const recorded = await recordResult(recorder, h.deps.ks, {
        taskId: task.taskId,
        runnerId: fast.runnerId,
        leaseToken: task.leaseToken,
        outcome,
        now,
      });
      assert.equal(recorded.status, 'recorded');
      await cpSubscriber.ping();
      return value;
    });
  };
  try {
    const answer = await submitWait(WAIT_MS, { on: fast });
    assert.equal(held, 1, 'the submit script reply was held once');
    assert.equal(answer.view.state, 'succeeded');
    assert.deepEqual(answer.view.outcome?.output, { early: true });
    assert.ok(answer.ms < WAIT_MS / 2, `answered after ${answer.ms} ms: the wake-up was missed`);
  } finally {
    h.redis.sendCommand = original;
    recorder.disconnect();
  }
});

test('a replay with the Idempotency-Key waits for the same task, and answers a finished one at once', async () => {
  const key = `k-${randomBytes(6).toString('hex')}`;
  const inputs = { url: 'http://example.test/replay' };
  const first = await submitWait(100, { key, inputs });
  assert.equal(first.statusCode, 201);
  assert.equal(first.replayed, 'false');
  assert.equal(first.view.state, 'queued');

  const replaying = submitWait(20_000, { key, inputs });
  assert.equal(await runOne('replayed'), first.view.id);
  const replay = await replaying;
  assert.equal(replay.statusCode, 200);
  assert.equal(replay.replayed, 'true');
  assert.equal(replay.view.id, first.view.id);
  assert.equal(replay.view.state, 'succeeded');
  assert.equal(replay.view.outcome?.output, 'replayed');
  assert.ok(replay.ms < 10_000, `answered after ${replay.ms} ms`);

  const again = await submitWait(20_000, { key, inputs });
  assert.equal(again.statusCode, 200);
  assert.equal(again.replayed, 'true');
  assert.deepEqual(again.view, replay.view);
  assert.ok(again.ms < 2_000, `a finished task's replay answered after ${again.ms} ms`);
});

test('a woken waiter answers from the message, and reads the task only when the message carries nothing usable', async () => {
  /** A submit-and-wait on a runner nobody serves; `act` runs on the task once its waiter is parked. */
  const whenParked = async (waitMs: number, act: (id: string) => Promise<unknown>): Promise<Answer> => {
    const idle = await h.enroll();
    const waiting = submitWait(waitMs, { on: idle });
    await waitUntil(() => (h.deps.wakeups.parked === 1 ? true : undefined), 5_000, 'the submit to park its waiter');
    const ids = await h.redis.lrange(h.deps.ks.ready(idle.runnerId), 0, -1);
    assert.equal(ids.length, 1);
    await act(ids[0]!);
    return waiting;
  };
  const publish = (message: string): Promise<number> => h.redis.publish(h.deps.ks.doneChannel, message);

  // The stored task stays queued: a waiter that read it back would go on waiting.
  const outcome = { kind: 'succeeded', output: { from: 'the message' }, attempts: 1, durationMs: 3 };
  const fromMessage = await whenParked(20_000, (id) => publish(`v1 ${id} succeeded 7 1234 ${JSON.stringify(outcome)}`));
  assert.equal(fromMessage.view.state, 'succeeded');
  assert.equal(fromMessage.view.attempts, 7);
  assert.equal(fromMessage.view.finishedAt, 1234);
  assert.deepEqual(fromMessage.view.outcome, outcome);
  assert.equal((await h.getTask(fromMessage.view.id)).state, 'queued', 'the stored task did not change');
  assert.ok(fromMessage.ms < 10_000);

  // Not parseable: the waiter reads the task, finds it still queued, and waits on until the end.
  const unparseable = await whenParked(1_500, (id) => publish(`v1 ${id} succeeded seven 1234 {}`));
  assert.equal(unparseable.view.state, 'queued');
  assert.ok(unparseable.ms >= 1_400, `answered after ${unparseable.ms} ms`);

  // A bare id (what an outcome too large to inline publishes): the waiter reads the task back.
  const stored = {
    kind: 'failed',
    error: { code: 'PAR_ERR_INTERNAL', message: 'from the hash', retryable: false },
    attempts: 2,
    durationMs: 1,
  };
  const bare = await whenParked(20_000, async (id) => {
    await h.redis.hset(h.deps.ks.task(id), 'state', 'failed', 'outcome', JSON.stringify(stored), 'finishedAt', 99, 'attempts', 2);
    await publish(id);
  });
  assert.equal(bare.view.state, 'failed');
  assert.deepEqual(bare.view.outcome, stored);
  assert.equal(bare.view.finishedAt, 99);
  assert.ok(bare.ms < 10_000);

  // GET ?wait= answers from the message too.
  const other = await h.enroll();
  const queued = taskViewSchema.parse(
    (
      await h.request('POST', TASKS_API.submit, {
        headers: h.appHeaders(),
        body: { runner: other.runnerId, action: 'com.datadoghq.http.request' },
      })
    ).body,
  );
  const reading = h.getTask(queued.id, 20_000);
  await waitUntil(() => (h.deps.wakeups.parked === 1 ? true : undefined), 5_000, 'the read to park its waiter');
  await publish(`v1 ${queued.id} cancelled 0 5 ${JSON.stringify({ ...outcome, kind: 'cancelled', output: 'msg' })}`);
  const read = await reading;
  assert.equal(read.state, 'cancelled');
  assert.equal(read.outcome?.output, 'msg');
  assert.equal(read.createdAt, queued.createdAt, 'the fields that never change come from the first read');
});

/** The done message published for `taskId`, parsed; checked against what the task now reads. */
async function doneMessageMatches(taskId: string): Promise<string> {
  const message = await waitUntil(() => messages.find((m) => taskDoneId(m) === taskId), 5_000, `the done message of ${taskId}`);
  const view = await h.getTask(taskId);
  const final = parseTaskDone(message);
  assert.ok(final, `parseable: ${message.slice(0, 200)}`);
  assert.deepEqual(final, { state: view.state, attempts: view.attempts, finishedAt: view.finishedAt, outcome: view.outcome });
  return message;
}

test('every script that makes a task final publishes its final fields: result, cancel, runner deletion, lease expiry', async () => {
  // A recorded result (result-record.lua).
  const answering = submitWait(20_000);
  const recorded = await runOne({ ok: 'recorded' });
  await answering;
  await doneMessageMatches(recorded);

  // A cancel (task-cancel.lua).
  const cancelled = await h.submit(runner);
  assert.equal((await h.request('POST', TASKS_API.cancel(cancelled.id), { headers: h.appHeaders() })).statusCode, 200);
  assert.equal((await h.getTask(cancelled.id)).state, 'cancelled');
  await doneMessageMatches(cancelled.id);

  // A deleted runner fails its open tasks (runner-delete.lua); the waiting submit answers that failure.
  const doomed = await h.enroll();
  const waiting = submitWait(20_000, { on: doomed });
  await waitUntil(() => (h.deps.wakeups.parked === 1 ? true : undefined), 5_000, 'the submit to park its waiter');
  assert.equal((await h.request('DELETE', ADMIN_API.runner(doomed.runnerId), { headers: h.appHeaders() })).statusCode < 300, true);
  const failed = await waiting;
  assert.equal(failed.view.state, 'failed');
  assert.equal(failed.view.outcome?.error?.code, 'PAR_ERR_RUNNER_DELETED');
  await doneMessageMatches(failed.view.id);

  // An outcome too large to inline: a bare id, and the waiter reads the task back.
  const big = 'x'.repeat(MAX_INLINE_OUTCOME + 10);
  const bigAnswer = submitWait(20_000);
  const bigId = await runOne(big);
  const bigView = (await bigAnswer).view;
  assert.equal(bigView.outcome?.output, big);
  // (The waiter was woken on this process directly; the published message may land just after.)
  await waitUntil(() => (messages.includes(bigId) ? true : undefined), 5_000, 'the bare id published');

  // Lease expiry after maxDeliveries (lease-sweep.lua); last: it moves the harness clock.
  const expiring = await h.submit(runner);
  const [delivery] = await h.dequeue(runner, { max: 1, waitMs: 0 });
  assert.equal(delivery?.taskId, expiring.id);
  h.advance(LEASE_MS + 1);
  assert.deepEqual(await sweepExpiredLeases(h.redis, h.deps.ks, h.now(), h.config.maxDeliveries), { requeued: 0, failed: 1 });
  await doneMessageMatches(expiring.id);
});

test('ApiClient.submitAndWait (par task run --wait) gets the result in one HTTP request', async () => {
  // A counting pass-through in front of the control plane: what the client sends is what a proxy
  // in front of a real deployment would log.
  const target = new URL(await h.app.listen({ port: 0, host: '127.0.0.1' }));
  const seen: string[] = [];
  const proxy = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = proxy.address() as AddressInfo;
    const client = new ApiClient(loadCliConfig({ PAR_CONTROL_PLANE_URL: `http://127.0.0.1:${port}`, PAR_APP_KEY: h.appKey }));
    const body = { runner: runner.runnerId, action: 'com.datadoghq.http.request', inputs: { url: 'http://example.test/client' } };
    const waiting = client.submitAndWait(body, 20_000);
    await runOne('through the client');
    const { task, replayed } = await waiting;
    assert.equal(task.state, 'succeeded');
    assert.equal(task.outcome?.output, 'through the client');
    assert.equal(replayed, false);
    assert.deepEqual(seen, ['POST /api/v1/tasks?wait=20000']);

    // Nobody serves this runner: the wait ends with the task queued, still one request.
    seen.length = 0;
    const idle = await h.enroll();
    const started = Date.now();
    const queued = await client.submitAndWait({ ...body, runner: idle.runnerId }, 300);
    assert.equal(queued.task.state, 'queued');
    assert.ok(Date.now() - started >= 290);
    assert.deepEqual(seen, ['POST /api/v1/tasks?wait=300']);
  } finally {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
});
