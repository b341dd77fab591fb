/**
 * Cancellation on the control plane (real Redis, the real app through inject): a queued task is
 * cancelled at once and never delivered; a leased one is cancelled at once, its runner's heartbeat
 * names it, and the run's later result (any kind, any token) is acknowledged without replacing
 * `cancelled`; a finished task is 409; twice is idempotent; unknown is 404; viewers get 403.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RUNNER_API, dequeueResponseSchema, heartbeatResponseSchema, type DequeueResponse } from '../../src/contracts/runner-api.js';
import { TASKS_API, taskEventsPath, taskEventsResponseSchema, taskViewSchema, type TaskView } from '../../src/contracts/tasks-api.js';
import { startHarness, succeeded, type Harness, type TestRunner } from './control-plane-harness.js';
import { AdminClient, expectError, expectStatus, keyHeaders } from './cp-access-fixture.js';

let h: Harness;
let runner: TestRunner;

before(async () => {
  h = await startHarness('cancel');
  runner = await h.enroll();
});
after(async () => {
  await h.close();
});

async function cancel(taskId: string, headers = h.appHeaders()): Promise<{ statusCode: number; body: unknown }> {
  return h.request('POST', TASKS_API.cancel(taskId), { headers });
}

async function events(taskId: string): Promise<string[]> {
  const res = await h.request('GET', taskEventsPath(taskId), { headers: h.appHeaders() });
  expectStatus(res, 200, 'events');
  return taskEventsResponseSchema.parse(res.body).events.map((e) => e.type);
}

test('a queued task is cancelled at once and never delivered', async () => {
  const task = await h.submit(runner);
  const res = await cancel(task.id);
  expectStatus(res, 200, 'cancel');
  const view: TaskView = taskViewSchema.parse(res.body);
  assert.equal(view.state, 'cancelled');
  assert.equal(view.outcome?.kind, 'cancelled');
  assert.equal(view.outcome.error?.code, 'PAR_ERR_TASK_CANCELLED');
  assert.match(view.outcome.error.message, /by user:/);
  assert.equal(view.attempts, 0);
  assert.ok(view.finishedAt !== undefined);
  assert.deepEqual(await h.dequeue(runner), [], 'the cancelled task is not delivered');
  assert.equal((await h.getTask(task.id)).state, 'cancelled');
  assert.deepEqual(await events(task.id), ['submitted', 'cancelled']);

  // Idempotent: the same answer, nothing recorded again.
  const again = await cancel(task.id);
  expectStatus(again, 200, 'cancel again');
  assert.deepEqual(taskViewSchema.parse(again.body), view);
  assert.deepEqual(await events(task.id), ['submitted', 'cancelled']);

  // A later task is delivered normally (the ready list is intact).
  const next = await h.submit(runner);
  assert.deepEqual(
    (await h.dequeue(runner)).map((d) => d.taskId),
    [next.id],
  );
});

test('a waiting reader is woken by the cancel', async () => {
  const task = await h.submit(runner);
  const waiting = h.getTask(task.id, 30_000);
  const started = Date.now();
  expectStatus(await cancel(task.id), 200, 'cancel');
  assert.equal((await waiting).state, 'cancelled');
  assert.ok(Date.now() - started < 10_000, 'woken, not timed out');
});

async function rawDequeue(waitMs: number): Promise<DequeueResponse> {
  const res = await h.request('POST', RUNNER_API.dequeue, { headers: await runner.headers(), body: { max: 10, waitMs } });
  expectStatus(res, 200, 'dequeue');
  return dequeueResponseSchema.parse(res.body);
}

test("a leased task: cancelled at once, its runner's waiting dequeue is woken with it, heartbeats name it, the run's later result never replaces it", async () => {
  const task = await h.submit(runner);
  const [delivery] = await h.dequeue(runner);
  assert.equal(delivery?.taskId, task.id);
  const waiting = rawDequeue(30_000);
  const started = Date.now();
  expectStatus(await cancel(task.id), 200, 'cancel');
  const view = await h.getTask(task.id);
  assert.equal(view.state, 'cancelled');
  assert.equal(view.attempts, 1);
  assert.deepEqual(await waiting, { tasks: [], cancelled: [task.id] });
  assert.ok(Date.now() - started < 10_000, 'woken by the cancel, not by the wait running out');
  assert.deepEqual(await rawDequeue(0), { tasks: [] }, 'handed over once');

  const hb = await h.request('POST', RUNNER_API.heartbeat, {
    headers: await runner.headers(),
    body: { leases: [{ taskId: task.id, leaseToken: delivery.leaseToken }] },
  });
  expectStatus(hb, 200, 'heartbeat');
  const answer = heartbeatResponseSchema.parse(hb.body);
  assert.deepEqual(answer.leases, [{ taskId: task.id, status: 'final' }]);
  assert.deepEqual(answer.cancelled, [task.id]);

  // The lease left the sweeper's set: an expiry can neither requeue nor fail it.
  assert.equal(await h.redis.zscore(h.deps.ks.leases, task.id), null);

  // The run finished anyway (race): acknowledged, not recorded.
  const late = await h.publish(runner, task.id, delivery.leaseToken, succeeded({ late: true }));
  expectStatus(late, 200, 'late publish');
  assert.deepEqual(late.body, { status: 'duplicate' });
  // The run reports that it stopped: acknowledged as the confirmation.
  const stopped = await h.publish(runner, task.id, delivery.leaseToken, {
    kind: 'cancelled',
    error: { code: 'PAR_ERR_TASK_CANCELLED', message: 'stopped', retryable: false },
    attempts: 1,
    durationMs: 3,
  });
  assert.deepEqual(stopped.body, { status: 'duplicate' });

  const final = await h.getTask(task.id);
  assert.equal(final.state, 'cancelled');
  assert.equal(final.outcome?.kind, 'cancelled');
  assert.equal(final.outcome.output, undefined);
  assert.deepEqual(await events(task.id), ['submitted', 'delivered', 'cancelled', 'result.duplicate', 'cancel.confirmed']);
});

test('a finished task: 409 PAR_ERR_TASK_FINISHED and unchanged; unknown: 404', async () => {
  const task = await h.submit(runner);
  const [delivery] = await h.dequeue(runner);
  expectStatus(await h.publish(runner, task.id, delivery!.leaseToken, succeeded({ done: 1 })), 200, 'publish');
  const before = await h.getTask(task.id);
  expectError(await cancel(task.id), 409, 'PAR_ERR_TASK_FINISHED', 'cancel finished');
  assert.deepEqual(await h.getTask(task.id), before);
  assert.deepEqual(await events(task.id), ['submitted', 'delivered', 'result.recorded']);

  expectError(await cancel('no-such-task'), 404, 'PAR_ERR_NOT_FOUND', 'cancel unknown');
  expectError(
    await h.request('POST', TASKS_API.cancel(task.id), { headers: h.appHeaders(), body: { force: true } }),
    400,
    'PAR_ERR_REQUEST_INVALID',
    'unknown field',
  );
});

test('RBAC: a read-only user or a viewer gets 403 and the task runs on; no access is 404; a contributor may cancel', async () => {
  const admin = new AdminClient(h);
  const readOnly = await admin.user(`ro-${Date.now()}`, ['read_only']);
  await admin.grant(runner.runnerId, { type: 'user', id: readOnly }, 'editor'); // capped at viewer by the role
  const viewer = await admin.user(`viewer-${Date.now()}`);
  await admin.grant(runner.runnerId, { type: 'user', id: viewer }, 'viewer');
  const stranger = await admin.user(`stranger-${Date.now()}`);
  const contributor = await admin.user(`contrib-${Date.now()}`);
  await admin.grant(runner.runnerId, { type: 'user', id: contributor }, 'contributor');

  const task = await h.submit(runner);
  const roKey = (await admin.appKey({ type: 'user', id: readOnly })).key;
  expectError(await cancel(task.id, keyHeaders(roKey)), 403, 'PAR_ERR_AUTH_FORBIDDEN', 'read-only user');
  expectStatus(await h.request('GET', TASKS_API.get(task.id), { headers: keyHeaders(roKey) }), 200, 'read-only user may read it');
  expectError(
    await cancel(task.id, keyHeaders((await admin.appKey({ type: 'user', id: viewer })).key)),
    403,
    'PAR_ERR_AUTH_FORBIDDEN',
    'viewer',
  );
  expectError(
    await cancel(task.id, keyHeaders((await admin.appKey({ type: 'user', id: stranger })).key)),
    404,
    'PAR_ERR_NOT_FOUND',
    'no access',
  );
  expectError(
    await cancel(task.id, keyHeaders((await admin.appKey({ type: 'user', id: contributor }, ['on_prem_runner_read'])).key)),
    403,
    'PAR_ERR_AUTH_SCOPE_MISSING',
    'key without actions_run',
  );
  assert.equal((await h.getTask(task.id)).state, 'queued', 'refused cancels changed nothing');

  const res = await cancel(task.id, keyHeaders((await admin.appKey({ type: 'user', id: contributor })).key));
  expectStatus(res, 200, 'contributor');
  assert.equal(taskViewSchema.parse(res.body).state, 'cancelled');
});
