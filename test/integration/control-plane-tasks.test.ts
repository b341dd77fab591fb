/** Control plane: submit, signed delivery, long-poll, heartbeat, fenced publish, task wait. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { RUNNER_API } from '../../src/contracts/runner-api.js';
import { TASKS_API } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { TaskSigner } from '../../src/crypto/task-signature.js';
import { ParError } from '../../src/errors/par-error.js';
import { sweepExpiredLeases } from '../../src/control-plane/store/lease-sweep.js';
import { enqueueSignedTask } from '../../src/control-plane/store/tasks.js';
import { pino } from 'pino';
import { REDACT_PATHS } from '../../src/logging/logger.js';
import { waitUntil } from '../helpers/wait.js';
import { startHarness, succeeded } from './control-plane-harness.js';

test('submit -> dequeue hands out a verifiable signed task with a lease', async () => {
  const h = await startHarness('submit', { leaseMs: 30_000 });
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner, { inputs: { url: 'http://svc.internal/x' }, timeoutMs: 5_000 });
    assert.equal(view.state, 'queued');
    assert.equal(view.attempts, 0);
    assert.equal(view.runnerId, runner.runnerId);
    assert.equal(view.orgId, h.context.orgId);

    const before = Date.now();
    const [delivery, ...rest] = await h.dequeue(runner);
    assert.ok(delivery);
    assert.equal(rest.length, 0);
    assert.equal(delivery.taskId, view.id);
    assert.equal(delivery.attempt, 1);
    assert.ok(delivery.leaseToken.length >= 20);
    assert.ok(delivery.leaseExpiresAt >= before + 30_000 && delivery.leaseExpiresAt <= Date.now() + 30_000);

    const claims = await runner.verifier.verify(delivery.signedTask, { runnerId: runner.runnerId, taskId: view.id, checkExpiry: true });
    assert.equal(claims.sub, view.id);
    assert.equal(claims.aud, runner.runnerId);
    assert.equal(claims.org, h.context.orgId);
    assert.equal(claims.action, 'com.datadoghq.http.request');
    assert.deepEqual(claims.inputs, { url: 'http://svc.internal/x' });
    assert.equal(claims.timeoutMs, 5_000);
    assert.equal(claims.connection, undefined);
    assert.ok(claims.exp * 1000 <= Date.now() + h.config.taskTtlMs + 1_000);

    const leased = await h.getTask(view.id);
    assert.equal(leased.state, 'leased');
    assert.equal(leased.attempts, 1);
    assert.deepEqual(await h.dequeue(runner), [], 'leased once only');

    // Another runner of the org cannot be handed this task, nor verify it as its own.
    const other = await h.enroll();
    await assert.rejects(
      other.verifier.verify(delivery.signedTask, { runnerId: other.runnerId, checkExpiry: true }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_TASK_WRONG_RUNNER',
    );
  } finally {
    await h.close();
  }
});

test('submit resolves the runner by name in the org, and refuses unknown runners and connections', async () => {
  const h = await startHarness('submit-refused');
  try {
    const runner = await h.enroll('by-name');
    const byName = await h.submit('by-name');
    assert.equal(byName.runnerId, runner.runnerId);

    const post = (body: unknown, headers = h.appHeaders()) => h.request('POST', TASKS_API.submit, { headers, body });
    const unknown = await post({ runner: 'nobody', action: 'com.datadoghq.http.request' });
    assert.equal(unknown.statusCode, 404);
    assert.equal((unknown.body as { code: string }).code, 'PAR_ERR_NOT_FOUND');
    const noConnection = await post({ runner: runner.runnerId, action: 'com.datadoghq.http.request', connectionId: 'conn-1' });
    assert.equal(noConnection.statusCode, 404);
    assert.match((noConnection.body as { message: string }).message, /connection/);
    const badAction = await post({ runner: runner.runnerId, action: 'not an fqn' });
    assert.equal(badAction.statusCode, 400);
    assert.match((badAction.body as { message: string }).message, /^.*action/);
    const noKey = await post({ runner: runner.runnerId, action: 'com.datadoghq.http.request' }, {});
    assert.equal(noKey.statusCode, 403);
    assert.equal((await h.request('GET', TASKS_API.get('nope'), { headers: h.appHeaders() })).statusCode, 404);
    assert.equal((await h.request('GET', `${TASKS_API.get(byName.id)}?wait=60001`, { headers: h.appHeaders() })).statusCode, 400);
  } finally {
    await h.close();
  }
});

test('a waiting dequeue wakes promptly when a task is submitted', async () => {
  const h = await startHarness('long-poll');
  try {
    const runner = await h.enroll();
    const WAIT_MS = 10_000;
    let answered = false;
    const polling = h.dequeue(runner, { max: 5, waitMs: WAIT_MS }).finally(() => {
      answered = true;
    });
    // Parked = past its first look at Redis and blocked on the wake-up: the task must come by wake-up.
    await waitUntil(() => (h.deps.wakeups.parked === 1 ? true : undefined), WAIT_MS / 2, 'the dequeue to park its waiter');
    assert.equal(answered, false, 'no task yet: the dequeue waits');
    const submittedAt = Date.now();
    const view = await h.submit(runner);
    const tasks = await polling;
    const wokeAfter = Date.now() - submittedAt;
    // A waiter that is not woken answers [] when WAIT_MS runs out: getting the task proves the wake-up.
    assert.deepEqual(
      tasks.map((t) => t.taskId),
      [view.id],
    );
    assert.ok(wokeAfter < WAIT_MS / 2, `woke ${wokeAfter} ms after submit (wait ${WAIT_MS} ms)`);
    assert.equal(h.deps.wakeups.size, 0, 'waiter released');

    // An empty long-poll answers empty once waitMs runs out.
    const t0 = Date.now();
    assert.deepEqual(await h.dequeue(runner, { max: 1, waitMs: 200 }), []);
    assert.ok(Date.now() - t0 >= 190);
  } finally {
    await h.close();
  }
});

test('batch dequeue returns several tasks in submission order, up to max', async () => {
  const h = await startHarness('batch');
  try {
    const runner = await h.enroll();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await h.submit(runner, { inputs: { i } })).id);
    const first = await h.dequeue(runner, { max: 3, waitMs: 0 });
    assert.deepEqual(
      first.map((d) => d.taskId),
      ids.slice(0, 3),
    );
    assert.equal(new Set(first.map((d) => d.leaseToken)).size, 3, 'one token per task');
    const second = await h.dequeue(runner, { max: 10, waitMs: 5_000 });
    assert.deepEqual(
      second.map((d) => d.taskId),
      ids.slice(3),
    );
  } finally {
    await h.close();
  }
});

test('heartbeat extends current leases and reports stale, final and unknown ones in one call', async () => {
  const h = await startHarness('heartbeat', { leaseMs: 10_000 });
  try {
    const runner = await h.enroll();
    await h.submit(runner);
    await h.submit(runner);
    const [a, b] = await h.dequeue(runner);
    assert.ok(a && b);
    h.advance(4_000);
    const res = await h.heartbeat(runner, [
      { taskId: a.taskId, leaseToken: a.leaseToken },
      { taskId: b.taskId, leaseToken: 'not-the-token' },
      { taskId: 'no-such-task', leaseToken: 'x' },
    ]);
    assert.deepEqual(
      res.map((r) => r.status),
      ['ok', 'stale', 'unknown'],
    );
    assert.ok(res[0]?.leaseExpiresAt !== undefined && res[0].leaseExpiresAt >= a.leaseExpiresAt + 3_900);
    assert.equal(Number(await h.redis.zscore(h.deps.ks.leases, a.taskId)), res[0].leaseExpiresAt);

    assert.equal((await h.publish(runner, a.taskId, a.leaseToken)).statusCode, 200);
    const after = await h.heartbeat(runner, [{ taskId: a.taskId, leaseToken: a.leaseToken }]);
    assert.deepEqual(after, [{ taskId: a.taskId, status: 'final' }]);

    // Another runner's task is unknown to this runner.
    const other = await h.enroll();
    assert.deepEqual(await h.heartbeat(other, [{ taskId: b.taskId, leaseToken: b.leaseToken }]), [{ taskId: b.taskId, status: 'unknown' }]);
  } finally {
    await h.close();
  }
});

test('publish records exactly one result: duplicate acknowledged, stale token refused, other runner 404', async () => {
  const h = await startHarness('publish');
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner);
    const [d] = await h.dequeue(runner);
    assert.ok(d);

    const wrong = await h.publish(runner, d.taskId, 'stale-token');
    assert.equal(wrong.statusCode, 409);
    assert.equal((wrong.body as { code: string }).code, 'PAR_ERR_LEASE_STALE');

    const other = await h.enroll();
    const foreign = await h.publish(other, d.taskId, d.leaseToken);
    assert.equal(foreign.statusCode, 404);

    const recorded = await h.publish(runner, d.taskId, d.leaseToken, succeeded({ status: 200 }));
    assert.equal(recorded.statusCode, 200);
    assert.deepEqual(recorded.body, { status: 'recorded' });

    const dup = await h.publish(runner, d.taskId, d.leaseToken, {
      kind: 'failed',
      error: { code: 'PAR_ERR_ACTION_FAILED', message: 'x', retryable: false },
      attempts: 1,
      durationMs: 1,
    });
    assert.equal(dup.statusCode, 200);
    assert.deepEqual(dup.body, { status: 'duplicate' });
    assert.deepEqual((await h.publish(runner, d.taskId, 'any-token')).body, { status: 'duplicate' }, 'final wins over the token check');

    const final = await h.getTask(view.id);
    assert.equal(final.state, 'succeeded');
    assert.deepEqual(final.outcome?.output, { status: 200 }, 'the first result stands');
    assert.ok(final.finishedAt !== undefined);
    assert.equal(await h.redis.zscore(h.deps.ks.leases, d.taskId), null, 'lease released');

    // The task's history tells the same story, with exactly one recorded result.
    const history = await h.request('GET', `${TASKS_API.get(view.id)}/events`, { headers: h.appHeaders() });
    assert.equal(history.statusCode, 200);
    const types = (history.body as { events: { type: string; attempt?: number }[] }).events.map((e) => e.type);
    assert.deepEqual(types, ['submitted', 'delivered', 'result.stale', 'result.recorded', 'result.duplicate', 'result.duplicate']);
    assert.equal((await h.request('GET', `${TASKS_API.get(view.id)}/events`, { headers: {} })).statusCode, 403);

    // Concurrent publishes under the same token: exactly one is recorded.
    const v2 = await h.submit(runner);
    const [d2] = await h.dequeue(runner);
    assert.equal(d2?.taskId, v2.id);
    const results = await Promise.all(Array.from({ length: 8 }, () => h.publish(runner, v2.id, d2.leaseToken)));
    const statuses = results.map((r) => (r.body as { status: string }).status).sort();
    assert.deepEqual(statuses, ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'recorded']);

    const badBody = await h.request('POST', RUNNER_API.result(v2.id), {
      headers: await runner.headers(),
      body: { leaseToken: 'x', outcome: { kind: 'weird' } },
    });
    assert.equal(badBody.statusCode, 400);
    assert.match((badBody.body as { message: string }).message, /outcome\.kind/);
  } finally {
    await h.close();
  }
});

test('GET /tasks/:id?wait returns as soon as the result is published', async () => {
  const h = await startHarness('task-wait');
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner);
    const [d] = await h.dequeue(runner);
    assert.ok(d);

    const t0 = Date.now();
    const timedOut = await h.getTask(view.id, 200);
    assert.equal(timedOut.state, 'leased');
    assert.ok(Date.now() - t0 >= 190, 'waited the full wait when nothing happened');

    const WAIT_MS = 10_000;
    let answered = false;
    const waiting = h.getTask(view.id, WAIT_MS).finally(() => {
      answered = true;
    });
    await waitUntil(() => (h.deps.wakeups.parked === 1 ? true : undefined), WAIT_MS / 2, 'the task wait to park its waiter');
    assert.equal(answered, false, 'not final yet: the wait waits');
    const publishedAt = Date.now();
    await h.publish(runner, d.taskId, d.leaseToken, succeeded('done'));
    const final = await waiting;
    // Not woken, it would answer only when WAIT_MS ran out.
    assert.ok(Date.now() - publishedAt < WAIT_MS / 2, `answered ${Date.now() - publishedAt} ms after publish (wait ${WAIT_MS} ms)`);
    assert.equal(final.state, 'succeeded');
    assert.equal(final.outcome?.output, 'done');

    const t1 = Date.now();
    assert.equal((await h.getTask(view.id, WAIT_MS)).state, 'succeeded');
    assert.ok(Date.now() - t1 < WAIT_MS / 2, 'a final task answers at once, without waiting');
    assert.equal(h.deps.wakeups.size, 0);
  } finally {
    await h.close();
  }
});

test('runner calls need a valid token from an enrolled runner', async () => {
  const h = await startHarness('runner-auth');
  try {
    const runner = await h.enroll();
    const call = (headers: Record<string, string>) => h.request('POST', RUNNER_API.dequeue, { headers, body: { max: 1, waitMs: 0 } });
    const codeOf = async (headers: Record<string, string>): Promise<[number, string]> => {
      const res = await call(headers);
      return [res.statusCode, (res.body as { code: string }).code];
    };

    assert.deepEqual(await codeOf({}), [401, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID']);
    assert.deepEqual(await codeOf({ authorization: 'Bearer not.a.jwt' }), [401, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID']);

    // Signed by a key that is not the runner's.
    const impostor = await generateSigningKeyPair();
    const forged = new RunnerTokenMinter(runner.runnerId, await importSigningKey(impostor.privateJwk));
    assert.deepEqual(await codeOf({ authorization: `Bearer ${await forged.token()}` }), [401, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID']);

    // Expired (minted long ago by the right key).
    const old = new RunnerTokenMinter(runner.runnerId, await importSigningKey(runner.keyPair.privateJwk), () => Date.now() - 3_600_000);
    assert.deepEqual(await codeOf({ authorization: `Bearer ${await old.token()}` }), [401, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID']);

    // Wrong audience.
    const wrongAud = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(runner.runnerId)
      .setAudience('someone-else')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(await importSigningKey(runner.keyPair.privateJwk));
    assert.deepEqual(await codeOf({ authorization: `Bearer ${wrongAud}` }), [401, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID']);

    const ghost = new RunnerTokenMinter('no-such-runner', await importSigningKey(impostor.privateJwk));
    assert.deepEqual(await codeOf({ authorization: `Bearer ${await ghost.token()}` }), [401, 'PAR_ERR_AUTH_RUNNER_UNKNOWN']);

    assert.equal((await call(await runner.headers())).statusCode, 200);
  } finally {
    await h.close();
  }
});

test('enqueueSignedTask hands a runner a forged JWS as is, and never re-signs it on redelivery', async () => {
  const h = await startHarness('forged', { leaseMs: 1_000 });
  try {
    const runner = await h.enroll();
    const attacker = await generateSigningKeyPair();
    const signer = new TaskSigner(await importSigningKey(attacker.privateJwk), h.deps.signer.kid);
    const taskId = 'forged-1';
    const jws = await signer.sign(
      { sub: taskId, aud: runner.runnerId, org: h.context.orgId, action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 1_000 },
      60_000,
    );
    await enqueueSignedTask(h.redis, h.prefix, {
      taskId,
      runnerId: runner.runnerId,
      orgId: h.context.orgId,
      action: 'com.datadoghq.http.request',
      signedTask: jws,
    });

    const [d] = await h.dequeue(runner);
    assert.equal(d?.signedTask, jws);
    await assert.rejects(
      runner.verifier.verify(jws, { runnerId: runner.runnerId, taskId, checkExpiry: true }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_TASK_SIGNATURE_INVALID',
    );

    h.advance(2_000);
    assert.deepEqual(await sweepExpiredLeases(h.redis, h.deps.ks, h.now(), h.config.maxDeliveries), { requeued: 1, failed: 0 });
    const [again] = await h.dequeue(runner);
    assert.equal(again?.attempt, 2);
    assert.equal(again.signedTask, jws, 'redelivered unchanged, not re-signed by the control plane');

    // The runner reports the rejection under its lease; the task view shows it.
    const rejected = await h.publish(runner, taskId, again.leaseToken, {
      kind: 'rejected',
      error: { code: 'PAR_ERR_TASK_SIGNATURE_INVALID', message: 'forged', retryable: false },
      attempts: 0,
      durationMs: 0,
    });
    assert.deepEqual(rejected.body, { status: 'recorded' });
    const view = await h.getTask(taskId);
    assert.equal(view.state, 'failed');
    assert.equal(view.outcome?.error?.code, 'PAR_ERR_TASK_SIGNATURE_INVALID');
  } finally {
    await h.close();
  }
});

test('keys, runner tokens and lease tokens never reach the log', async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'trace', redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } },
    {
      write: (line: string) => {
        lines.push(line);
      },
    },
  );
  const h = await startHarness('no-secrets-in-logs', {}, logger);
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner);
    const [d] = await h.dequeue(runner);
    assert.ok(d);
    await h.heartbeat(runner, [{ taskId: d.taskId, leaseToken: d.leaseToken }]);
    await h.publish(runner, view.id, d.leaseToken);
    await h.publish(runner, view.id, 'wrong');
    await h.request('POST', RUNNER_API.enroll, { headers: { 'dd-api-key': 'z'.repeat(32), 'dd-application-key': h.appKey }, body: {} });
    const log = lines.join('');
    assert.match(log, /task result recorded/, 'the log was captured');
    const token = (await runner.headers()).authorization?.split(' ')[1] ?? '';
    for (const secret of [h.apiKey, h.appKey, token, d.leaseToken, 'z'.repeat(32)]) assert.ok(!log.includes(secret), 'a secret was logged');
  } finally {
    await h.close();
  }
});
