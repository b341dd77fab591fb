/**
 * The control plane wakes its own waiters directly when it submits a task or records a result
 * (wakeups.ts `wakeRunner`, `wakeTask`), without the Redis pub/sub hop; the published message still
 * wakes every other process. Real Redis (the hub's subscriber connects); nothing is published here,
 * so only the local wake can answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Wakeups } from '../../src/control-plane/wakeups.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import type { TaskFinal } from '../../src/control-plane/task-done-message.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';

const redis = connectRedis();
let hub: Wakeups;

before(async () => {
  hub = await Wakeups.start(redis, keySpace(uniquePrefix('wakeups-local')), createRootLogger({ process: 'test', level: 'silent' }));
});
after(async () => {
  await hub.close();
  await redis.quit();
});

const final: TaskFinal = {
  state: 'succeeded',
  attempts: 1,
  finishedAt: 1_700_000_000_000,
  outcome: { kind: 'succeeded', attempts: 1, durationMs: 3 },
};

test('wakeTask wakes the waiters of that task at once, with its final fields; not another task', async () => {
  const mine = hub.arm('task', 't-1');
  const other = hub.arm('task', 't-2');
  try {
    const started = performance.now();
    const woken = mine.wait(10_000);
    hub.wakeTask('t-1', final);
    assert.equal(await woken, true);
    assert.ok(performance.now() - started < 1_000, 'woken by the call, not by the wait ending');
    assert.deepEqual(mine.final, final);
    assert.equal(await other.wait(50), false, 'another task is not woken');
    assert.equal(other.final, undefined);
  } finally {
    mine.cancel();
    other.cancel();
  }
  assert.equal(hub.size, 0);
});

test('wakeRunner wakes a poll parked for that runner; a wake before the wait is kept (armed first)', async () => {
  const poll = hub.arm('runner', 'rnr_a');
  try {
    hub.wakeRunner('rnr_a');
    assert.equal(await poll.wait(10_000), true, 'the wake landed between arming and waiting: not lost');
    const again = poll.wait(10_000);
    hub.wakeRunner('rnr_a');
    assert.equal(await again, true);
    assert.equal(await poll.wait(50), false, 'each wake is used once');
    hub.wakeRunner('rnr_nobody');
  } finally {
    poll.cancel();
  }
});
