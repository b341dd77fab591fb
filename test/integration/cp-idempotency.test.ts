/**
 * Idempotent submission on the control plane (real Redis, the app driven with inject): the same
 * Idempotency-Key returns the same task, never a second one; another body under the key is
 * refused; keys are validated, scoped to the key owner, and expire after the window; concurrent
 * identical submissions create one task; a submission is stored whole (task, ready list, indexes,
 * record) in one script.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TASKS_API, taskViewSchema, type SubmitTaskRequest, type TaskView } from '../../src/contracts/tasks-api.js';
import { accessKeySpace } from '../../src/control-plane/store/access-key-space.js';
import { getTaskEvents } from '../../src/control-plane/store/task-events.js';
import { scanKeys } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';
import { AdminClient, expectError } from './cp-access-fixture.js';
import { startHarness, type Harness, type TestRunner } from './control-plane-harness.js';

let h: Harness;
let runner: TestRunner;
let n = 0;

before(async () => {
  h = await startHarness('idem', { idempotencyWindowMs: 60_000 });
  runner = await h.enroll();
});
after(async () => {
  await h.close();
});

interface Answer {
  statusCode: number;
  replayed: string | undefined;
  body: unknown;
}

async function post(body: SubmitTaskRequest, idempotencyKey?: string | string[], appKey = h.appKey): Promise<Answer> {
  const headers: Record<string, string | string[]> = { 'dd-application-key': appKey, 'content-type': 'application/json' };
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  const res = await h.app.inject({ method: 'POST', url: TASKS_API.submit, headers, payload: JSON.stringify(body) });
  const replayed = res.headers['idempotent-replayed'];
  return { statusCode: res.statusCode, replayed: typeof replayed === 'string' ? replayed : undefined, body: res.json<unknown>() };
}

function task(inputs: Record<string, unknown> = { url: 'http://svc.internal/a', verb: 'GET' }): SubmitTaskRequest {
  return { runner: runner.runnerId, action: 'com.datadoghq.http.request', inputs, timeoutMs: 5_000 };
}

const freshKey = (): string => `key-${process.pid}-${Date.now()}-${n++}`;

async function readyIds(): Promise<string[]> {
  return h.redis.lrange(h.deps.ks.ready(runner.runnerId), 0, -1);
}

test('the same key and body return the same task (200, Idempotent-Replayed: true), stored and queued once', async () => {
  const key = freshKey();
  const readyBefore = (await readyIds()).length;
  const first = await post(task(), key);
  assert.equal(first.statusCode, 201, JSON.stringify(first.body));
  assert.equal(first.replayed, 'false');
  const created: TaskView = taskViewSchema.parse(first.body);
  for (let i = 0; i < 3; i++) {
    const again = await post(task(), key);
    assert.equal(again.statusCode, 200, JSON.stringify(again.body));
    assert.equal(again.replayed, 'true');
    assert.equal(taskViewSchema.parse(again.body).id, created.id);
  }
  const ready = await readyIds();
  assert.equal(ready.length, readyBefore + 1, 'queued once');
  assert.equal(ready.filter((id) => id === created.id).length, 1);
  const events = await getTaskEvents(h.redis, h.deps.ks, created.id);
  assert.deepEqual(
    events.map((e) => e.type),
    ['submitted'],
  );
  // Indexed once, in the same script.
  assert.notEqual(await h.redis.zscore(accessKeySpace(h.deps.ks).runnerTasks(runner.runnerId), created.id), null);

  // The replay answers with the task as it is now, not as it was.
  const [delivery] = await h.dequeue(runner);
  assert.equal(delivery?.taskId, created.id);
  const replay = await post(task(), key);
  assert.equal(taskViewSchema.parse(replay.body).state, 'leased');
  assert.equal(taskViewSchema.parse(replay.body).attempts, 1);
  assert.equal((await readyIds()).length, readyBefore, 'a replay never re-queues a leased task');
});

test('the body is compared by content: key order and defaults do not matter, the runner may be named by id or name', async () => {
  const key = freshKey();
  const first = await post(
    {
      runner: runner.runnerId,
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: 'http://svc.internal/o', headers: { b: '2', a: '1' } },
      timeoutMs: 60_000,
    },
    key,
  );
  assert.equal(first.statusCode, 201);
  const second = await post(
    {
      runner: runner.name,
      action: 'com.datadoghq.http.request',
      inputs: { headers: { a: '1', b: '2' }, url: 'http://svc.internal/o', verb: 'GET' },
    },
    key,
  );
  assert.equal(second.statusCode, 200, JSON.stringify(second.body));
  assert.equal(taskViewSchema.parse(second.body).id, taskViewSchema.parse(first.body).id);
});

test('the same key with another body is refused with 422 PAR_ERR_IDEMPOTENCY_KEY_REUSED and stores nothing', async () => {
  const key = freshKey();
  const first = await post(task({ url: 'http://svc.internal/one' }), key);
  assert.equal(first.statusCode, 201);
  const readyBefore = (await readyIds()).length;
  const variants: SubmitTaskRequest[] = [
    task({ url: 'http://svc.internal/two' }),
    { ...task({ url: 'http://svc.internal/one' }), timeoutMs: 6_000 },
    { ...task({ url: 'http://svc.internal/one' }), action: 'com.datadoghq.http.other' },
  ];
  for (const v of variants) {
    const res = await post(v, key);
    expectError({ statusCode: res.statusCode, body: res.body }, 422, 'PAR_ERR_IDEMPOTENCY_KEY_REUSED', JSON.stringify(v));
    assert.match((res.body as { message: string }).message, new RegExp(taskViewSchema.parse(first.body).id));
  }
  assert.equal((await readyIds()).length, readyBefore, 'nothing queued');
  // The original request still replays.
  assert.equal((await post(task({ url: 'http://svc.internal/one' }), key)).statusCode, 200);
});

test('malformed keys are refused with 400 PAR_ERR_IDEMPOTENCY_KEY_INVALID before anything is stored', async () => {
  const readyBefore = (await readyIds()).length;
  const bad: (string | string[])[] = [
    '',
    'x'.repeat(256),
    'has space',
    'comma,separated',
    'caf\u00e9',
    'semi;colon',
    'quote"',
    'a\tb',
    ['twice-a', 'twice-b'],
  ];
  for (const key of bad) {
    const res = await post(task(), key);
    expectError({ statusCode: res.statusCode, body: res.body }, 400, 'PAR_ERR_IDEMPOTENCY_KEY_INVALID', `key ${JSON.stringify(key)}`);
  }
  assert.equal((await readyIds()).length, readyBefore);
  // The limits themselves are fine.
  for (const key of ['k', 'x'.repeat(255), 'A-Za-z0-9._~:+/=', '3f2b8c1e-7d4a-4e0b-9c55-0a1b2c3d4e5f']) {
    const res = await post(task(), key);
    assert.ok(res.statusCode === 201 || res.statusCode === 200, `${key}: ${res.statusCode} ${JSON.stringify(res.body)}`);
  }
});

test('keys are scoped to the key owner: another user gets its own task, another key of the same owner the same one', async () => {
  const admin = new AdminClient(h);
  const userId = await admin.user(`idem-user-${n++}`);
  const userKey = await admin.appKey({ type: 'user', id: userId });
  await admin.grant(runner.runnerId, { type: 'user', id: userId }, 'editor');
  const secondAdminKey = await admin.appKey({ type: 'user', id: h.context.adminUserId });

  const key = freshKey();
  const mine = await post(task(), key);
  assert.equal(mine.statusCode, 201);
  const theirs = await post(task(), key, userKey.key);
  assert.equal(theirs.statusCode, 201, JSON.stringify(theirs.body));
  assert.notEqual(taskViewSchema.parse(theirs.body).id, taskViewSchema.parse(mine.body).id, 'two owners never share a task');
  const rotated = await post(task(), key, secondAdminKey.key);
  assert.equal(rotated.statusCode, 200);
  assert.equal(taskViewSchema.parse(rotated.body).id, taskViewSchema.parse(mine.body).id, 'the same owner, another key: the same task');
  // The other owner's different body under the same key does not touch the first owner's record.
  const otherBody = await post(task({ url: 'http://svc.internal/else' }), key, userKey.key);
  expectError({ statusCode: otherBody.statusCode, body: otherBody.body }, 422, 'PAR_ERR_IDEMPOTENCY_KEY_REUSED', 'other owner, other body');
  assert.equal((await post(task(), key)).statusCode, 200);
});

test('20 identical submissions in parallel create exactly one task', async () => {
  const key = freshKey();
  const readyBefore = (await readyIds()).length;
  const answers = await Promise.all(Array.from({ length: 20 }, () => post(task({ url: 'http://svc.internal/parallel' }), key)));
  const created = answers.filter((a) => a.statusCode === 201);
  const replayed = answers.filter((a) => a.statusCode === 200);
  assert.equal(created.length, 1, JSON.stringify(answers.map((a) => a.statusCode)));
  assert.equal(replayed.length, 19);
  const ids = new Set(answers.map((a) => taskViewSchema.parse(a.body).id));
  assert.equal(ids.size, 1);
  assert.equal((await readyIds()).length, readyBefore + 1);
});

test('submissions without a key are not deduplicated, and a key expires after its window', async () => {
  const a = await post(task());
  const b = await post(task());
  assert.equal(a.statusCode, 201);
  assert.equal(a.replayed, undefined, 'no replay header without a key');
  assert.notEqual(taskViewSchema.parse(a.body).id, taskViewSchema.parse(b.body).id);

  const short = await startHarness('idem-window', { idempotencyWindowMs: 1_000 });
  try {
    const r = await short.enroll();
    const body = { runner: r.runnerId, action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 5_000 };
    const send = async (): Promise<{ statusCode: number; id: string }> => {
      const res = await short.app.inject({
        method: 'POST',
        url: TASKS_API.submit,
        headers: { ...short.appHeaders(), 'idempotency-key': 'window-key' },
        payload: body,
      });
      return { statusCode: res.statusCode, id: taskViewSchema.parse(res.json()).id };
    };
    const first = await send();
    assert.equal(first.statusCode, 201);
    const keys = await scanKeys(short.redis, `${short.prefix}:idem:*`);
    assert.equal(keys.length, 1);
    const ttl = await short.redis.pttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 1_000, `record expires with the window (pttl ${ttl})`);
    await waitUntil(async () => ((await short.redis.exists(keys[0]!)) === 0 ? true : undefined), 10_000, 'the record to expire');
    const later = await send();
    assert.equal(later.statusCode, 201, 'after the window the key is free again');
    assert.notEqual(later.id, first.id);
  } finally {
    await short.close();
  }
});
