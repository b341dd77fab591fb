/**
 * Control plane: lease expiry, redelivery with a new token and a fresh signature, fencing of the
 * old token, failure after maxDeliveries, and the start-up lease extension. The control plane's
 * clock is moved forward (harness.advance) instead of sleeping, and the sweep step is called
 * directly, so these tests are fast and deterministic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sweepExpiredLeases } from '../../src/control-plane/store/lease-sweep.js';
import { extendAllLeases } from '../../src/control-plane/store/leases.js';
import { startHarness, succeeded, type Harness } from './control-plane-harness.js';

const LEASE_MS = 1_000;

function sweep(h: Harness) {
  return sweepExpiredLeases(h.redis, h.deps.ks, h.now(), h.config.maxDeliveries);
}

test('an expired lease is redelivered with a new token, attempt 2 and a fresh signature; the old token is stale', async () => {
  const h = await startHarness('expiry', { leaseMs: LEASE_MS, maxDeliveries: 3, taskTtlMs: 5_000 });
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner);
    const [first] = await h.dequeue(runner);
    assert.ok(first);

    assert.deepEqual(await sweep(h), { requeued: 0, failed: 0 }, 'a live lease is left alone');
    h.advance(LEASE_MS + 1);
    assert.deepEqual(await sweep(h), { requeued: 1, failed: 0 });
    assert.equal((await h.getTask(view.id)).state, 'queued');

    // Long after the first JWS expired (ttl 5 s), the redelivery still verifies: it was re-signed.
    h.advance(60_000);
    const [second] = await h.dequeue(runner);
    assert.ok(second);
    assert.equal(second.taskId, view.id);
    assert.equal(second.attempt, 2);
    assert.notEqual(second.leaseToken, first.leaseToken);
    assert.notEqual(second.signedTask, first.signedTask);
    const claims = await runner.verifier.verify(second.signedTask, {
      runnerId: runner.runnerId,
      taskId: view.id,
      checkExpiry: true,
      now: () => h.now(),
    });
    assert.equal(claims.sub, view.id);
    assert.ok(claims.exp * 1000 > h.now() + 4_000, 'fresh expiry');

    assert.deepEqual(await h.heartbeat(runner, [{ taskId: view.id, leaseToken: first.leaseToken }]), [
      { taskId: view.id, status: 'stale' },
    ]);
    const stale = await h.publish(runner, view.id, first.leaseToken);
    assert.equal(stale.statusCode, 409);
    assert.equal((stale.body as { code: string }).code, 'PAR_ERR_LEASE_STALE');

    assert.deepEqual((await h.publish(runner, view.id, second.leaseToken)).body, { status: 'recorded' });
    const final = await h.getTask(view.id);
    assert.equal(final.state, 'succeeded');
    assert.equal(final.attempts, 2);
  } finally {
    await h.close();
  }
});

test('after maxDeliveries expired leases the task fails with PAR_ERR_LEASE_EXPIRED, once', async () => {
  const h = await startHarness('max-deliveries', { leaseMs: LEASE_MS, maxDeliveries: 2 });
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner);
    const [first] = await h.dequeue(runner);
    h.advance(LEASE_MS + 1);
    assert.deepEqual(await sweep(h), { requeued: 1, failed: 0 });

    const waiting = h.getTask(view.id, 10_000);
    const [second] = await h.dequeue(runner);
    assert.equal(second?.attempt, 2);
    h.advance(LEASE_MS + 1);
    assert.deepEqual(await sweep(h), { requeued: 0, failed: 1 });

    const failed = await waiting;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 2);
    assert.equal(failed.outcome?.kind, 'failed');
    assert.equal(failed.outcome.error?.code, 'PAR_ERR_LEASE_EXPIRED');
    assert.equal(failed.outcome.error.retryable, false);
    assert.equal(failed.outcome.attempts, 2);
    assert.ok(failed.finishedAt !== undefined);

    assert.deepEqual(await h.dequeue(runner), [], 'not delivered again');
    assert.deepEqual(await sweep(h), { requeued: 0, failed: 0 });
    // A late result from the lost runner is acknowledged but does not replace the failure.
    assert.deepEqual((await h.publish(runner, view.id, second.leaseToken)).body, { status: 'duplicate' });
    assert.deepEqual((await h.publish(runner, view.id, first?.leaseToken ?? '')).body, { status: 'duplicate' });
    assert.equal((await h.getTask(view.id)).outcome?.error?.code, 'PAR_ERR_LEASE_EXPIRED');
  } finally {
    await h.close();
  }
});

test('the current token still records a result after its lease lapsed, before and after the requeue', async () => {
  const h = await startHarness('late-publish', { leaseMs: LEASE_MS });
  try {
    const runner = await h.enroll();
    // Lapsed, not yet swept.
    const a = await h.submit(runner);
    const [da] = await h.dequeue(runner);
    h.advance(LEASE_MS + 1);
    assert.deepEqual((await h.publish(runner, a.id, da?.leaseToken ?? '')).body, { status: 'recorded' });
    assert.deepEqual(await sweep(h), { requeued: 0, failed: 0 }, 'nothing left to sweep');

    // Swept back to the ready list, not yet redelivered: the result takes it off the list.
    const b = await h.submit(runner);
    const [db] = await h.dequeue(runner);
    h.advance(LEASE_MS + 1);
    assert.deepEqual(await sweep(h), { requeued: 1, failed: 0 });
    assert.deepEqual((await h.publish(runner, b.id, db?.leaseToken ?? '')).body, { status: 'recorded' });
    assert.equal(await h.redis.llen(h.deps.ks.ready(runner.runnerId)), 0);
    assert.deepEqual(await h.dequeue(runner), []);
    assert.equal((await h.getTask(b.id)).state, 'succeeded');
  } finally {
    await h.close();
  }
});

test('a heartbeat with the current token takes back a requeued task before it is redelivered', async () => {
  const h = await startHarness('heartbeat-revive', { leaseMs: LEASE_MS });
  try {
    const runner = await h.enroll();
    const view = await h.submit(runner);
    const [d] = await h.dequeue(runner);
    assert.ok(d);
    h.advance(LEASE_MS + 1);
    assert.deepEqual(await sweep(h), { requeued: 1, failed: 0 });
    const [hb] = await h.heartbeat(runner, [{ taskId: view.id, leaseToken: d.leaseToken }]);
    assert.equal(hb?.status, 'ok');
    assert.deepEqual(await h.dequeue(runner), [], 'no second delivery while the first runner still works on it');
    const task = await h.getTask(view.id);
    assert.equal(task.state, 'leased');
    assert.equal(task.attempts, 1);
    assert.deepEqual((await h.publish(runner, view.id, d.leaseToken, succeeded())).body, { status: 'recorded' });
  } finally {
    await h.close();
  }
});

test('on start every outstanding lease is extended by a lease period', async () => {
  const h = await startHarness('extend', { leaseMs: LEASE_MS });
  try {
    const runner = await h.enroll();
    await h.submit(runner);
    await h.submit(runner);
    const [live, lapsed] = await h.dequeue(runner);
    assert.ok(live && lapsed);
    // One lease lapsed while the control plane was "down".
    await h.redis.zadd(h.deps.ks.leases, h.now() - 5_000, lapsed.taskId);
    const now = h.now();
    assert.equal(await extendAllLeases(h.redis, h.deps.ks, now, LEASE_MS), 2);
    assert.equal(Number(await h.redis.zscore(h.deps.ks.leases, live.taskId)), live.leaseExpiresAt + LEASE_MS);
    assert.equal(Number(await h.redis.zscore(h.deps.ks.leases, lapsed.taskId)), now + LEASE_MS);
    assert.equal(Number(await h.redis.hget(h.deps.ks.task(lapsed.taskId), 'leaseExpiresAt')), now + LEASE_MS);
    assert.deepEqual(await sweep(h), { requeued: 0, failed: 0 });
  } finally {
    await h.close();
  }
});
