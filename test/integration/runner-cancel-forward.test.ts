/**
 * The runner's half of cancellation against a real Redis, with a scripted control plane: the
 * lease keeper forwards the cancels a heartbeat names and keeps those leases (the run's result is
 * published under them), retrying a failed forward at the next tick; the poll loop forwards the
 * cancels a dequeue answer names; forwardCancels reaches a worker's CancelListener both ways
 * (message to a subscribed worker, marker for one that starts the job later).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DequeueResponse } from '../../src/contracts/runner-api.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { forwardCancels } from '../../src/runner/cancel-forwarder.js';
import type { ClientResult } from '../../src/runner/control-plane-client.js';
import { LeaseKeeper } from '../../src/runner/lease-keeper.js';
import { LeaseStore } from '../../src/runner/lease-store.js';
import { PollLoop } from '../../src/runner/poll-loop.js';
import { CancelListener } from '../../workers/cancel-listener.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const redis = connectRedis();
const prefixes: string[] = [];
after(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  await redis.quit();
});

function prefix(label: string): string {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
}

test('lease keeper: cancels named by a heartbeat are forwarded, their leases kept; a failed forward is retried next tick', async () => {
  const leases = new LeaseStore(redis, prefix('cancel-keeper'), 'rnr_1');
  await leases.record([
    { taskId: 'running', leaseToken: '1' },
    { taskId: 'stopme', leaseToken: '2' },
  ]);
  const forwarded: string[][] = [];
  let failForward = true;
  const keeper = new LeaseKeeper({
    leases,
    intervalMs: 20,
    onFatal: () => undefined,
    logger,
    heartbeat: async (batch) => ({
      ok: true,
      value: {
        leases: batch.map((l) =>
          l.taskId === 'stopme'
            ? { taskId: l.taskId, status: 'final' as const }
            : { taskId: l.taskId, status: 'ok' as const, leaseExpiresAt: Date.now() + 30_000 },
        ),
        // A name the runner does not hold is ignored.
        cancelled: ['stopme', 'not-mine'],
      },
    }),
    forwardCancels: async (ids) => {
      forwarded.push([...ids]);
      if (failForward) throw new Error('redis down');
    },
  });
  const first = await keeper.tick();
  assert.deepEqual(forwarded, [['stopme']]);
  assert.equal(first.cancelled, 0);
  assert.equal(first.removed, 0, 'the cancelled lease is kept');
  failForward = false;
  const second = await keeper.tick();
  assert.deepEqual(forwarded, [['stopme'], ['stopme']]);
  assert.equal(second.cancelled, 1);
  assert.deepEqual((await leases.all()).map((l) => l.taskId).sort(), ['running', 'stopme']);
});

test('lease keeper without a forwarder: a cancelled task is final like any other and its lease removed', async () => {
  const leases = new LeaseStore(redis, prefix('cancel-keeper-old'), 'rnr_1');
  await leases.record([{ taskId: 'stopme', leaseToken: '2' }]);
  const keeper = new LeaseKeeper({
    leases,
    intervalMs: 20,
    onFatal: () => undefined,
    logger,
    heartbeat: async () => ({ ok: true, value: { leases: [{ taskId: 'stopme', status: 'final' }], cancelled: ['stopme'] } }),
  });
  assert.equal((await keeper.tick()).removed, 1);
  assert.deepEqual(await leases.all(), []);
});

test("poll loop: cancels named by a dequeue answer are forwarded before the deliveries' intake", async () => {
  const order: string[] = [];
  let polls = 0;
  const loop = new PollLoop({
    dequeue: async (_request, signal): Promise<ClientResult<DequeueResponse>> => {
      polls += 1;
      if (polls === 1) return { ok: true, value: { tasks: [], cancelled: ['t1', 't2'] } };
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return { ok: true, value: { tasks: [] } };
    },
    intake: async () => {
      order.push('intake');
    },
    inFlight: async () => 0,
    onFatal: () => undefined,
    forwardCancels: async (ids) => {
      order.push(`cancel:${ids.join(',')}`);
    },
    capacity: 5,
    waitMs: 1000,
    backoffMaxMs: 100,
    logger,
  });
  loop.start();
  try {
    await waitUntil(() => (order.length > 0 ? true : undefined), 5_000, 'the forward');
    assert.deepEqual(order, ['cancel:t1,t2']);
  } finally {
    await loop.stop();
  }
});

test('forwardCancels reaches a subscribed worker at once and leaves a marker for one that starts the job later', async () => {
  const queuePrefix = prefix('cancel-forward');
  const received: string[] = [];
  const listener = await CancelListener.start(redis, queuePrefix, (taskId) => received.push(taskId), logger);
  try {
    assert.equal(await listener.isCancelled('task-a'), false);
    await forwardCancels(redis, queuePrefix, ['task-a', 'task-b']);
    await waitUntil(() => (received.length === 2 ? true : undefined), 5_000, 'both messages');
    assert.deepEqual(received, ['task-a', 'task-b']);
    assert.equal(await listener.isCancelled('task-a'), true);
    assert.equal(await listener.isCancelled('task-b'), true);
    assert.equal(await listener.isCancelled('task-c'), false);
    const ttl = await redis.pttl(`${queuePrefix}:cancelled:task-a`);
    assert.ok(ttl > 0, 'the marker expires');
  } finally {
    listener.close();
  }
});
