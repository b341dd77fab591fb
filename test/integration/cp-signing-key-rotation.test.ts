/**
 * Signing-key rotation across control-plane processes sharing one Redis (two deps instances here):
 * a rotation reaches the other process over pub/sub (no periodic re-read in time), the schedule
 * rotates exactly once per interval whoever's timer fires, and the retired private key is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlaneConfigSchema } from '../../src/config/control-plane.js';
import { createControlPlaneDeps, type ControlPlaneContext } from '../../src/control-plane/deps.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { readKeyRing, rotateSigningKey } from '../../src/control-plane/store/signing-key.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';
import { silentLogger } from './control-plane-harness.js';

test('a rotation reaches every process at once over pub/sub; the old private key leaves Redis', async () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('cp-rotate');
  const contexts: ControlPlaneContext[] = [];
  try {
    // Re-read only every 10 minutes: only the pub/sub notice can explain a prompt switch.
    const config = controlPlaneConfigSchema.parse({ keyPrefix: prefix, signingKeyReloadMs: 600_000 });
    for (let i = 0; i < 2; i++) contexts.push(await createControlPlaneDeps({ config, redis: redis.duplicate(), logger: silentLogger }));
    const [a, b] = contexts as [ControlPlaneContext, ControlPlaneContext];
    const before = a.deps.signer.kid;
    assert.equal(b.deps.signer.kid, before);
    const started = Date.now();
    const result = await rotateSigningKey(redis, keySpace(prefix), { retireAfterMs: 60_000 });
    await waitUntil(
      () => (a.deps.signer.kid === result.kid && b.deps.signer.kid === result.kid ? true : undefined),
      5_000,
      'both processes to switch',
    );
    assert.ok(Date.now() - started < 5_000);
    // Enrolling runners pin the new key and the retiring one; the chain endorses the new key.
    assert.deepEqual(new Set(b.deps.jwks.keys.map((k) => k['kid'])), new Set([before, result.kid]));
    const answer = b.deps.signingKeys.answer();
    assert.equal(answer.active, result.kid);
    assert.ok(answer.keys.find((k) => k.kid === result.kid)?.endorsement);
    assert.equal(answer.keys.find((k) => k.kid === before)?.status, 'retiring');
    const stored =
      JSON.stringify(await redis.hgetall(keySpace(prefix).signingKeyRing)) + String(await redis.get(keySpace(prefix).signingKey));
    const ring = await readKeyRing(redis, keySpace(prefix));
    assert.equal(ring.active.kid, result.kid);
    assert.ok(!JSON.stringify(await redis.hgetall(keySpace(prefix).signingKeyRing)).includes('\\"d\\"'), 'no private part in the ring');
    assert.equal((stored.match(/"d":/g) ?? []).length, 1, 'exactly one private key stored: the active one');
    // A stale rotation (expected kid no longer active) changes nothing.
    await assert.rejects(rotateSigningKey(redis, keySpace(prefix), { retireAfterMs: 60_000, expectedKid: before }), {
      code: 'PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT',
    });
  } finally {
    for (const c of contexts) {
      await c.close();
      c.deps.redis.disconnect();
    }
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

test('the schedule rotates once per interval, even with several processes racing', async () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('cp-rotate-schedule');
  const contexts: ControlPlaneContext[] = [];
  try {
    const config = controlPlaneConfigSchema.parse({
      keyPrefix: prefix,
      signingKeyRotateIntervalMs: 1_500,
      signingKeyReloadMs: 100,
      taskTtlMs: 1_000,
    });
    for (let i = 0; i < 3; i++) contexts.push(await createControlPlaneDeps({ config, redis: redis.duplicate(), logger: silentLogger }));
    const first = contexts[0]!.deps.signer.kid;
    await waitUntil(
      async () => ((await readKeyRing(redis, keySpace(prefix))).entries.length >= 3 ? true : undefined),
      20_000,
      'two scheduled rotations',
    );
    const ring = await readKeyRing(redis, keySpace(prefix));
    // One chain, no fork: every non-first key is endorsed, each by a different predecessor.
    const endorsed = ring.entries.filter((e) => e.endorsement);
    assert.equal(endorsed.length, ring.entries.length - 1);
    assert.ok(ring.entries.some((e) => e.kid === first));
    const created = ring.entries.map((e) => e.createdAt).sort((x, y) => x - y);
    for (let i = 1; i < created.length; i++)
      assert.ok(created[i]! - created[i - 1]! >= 1_400, `rotations ${created[i]! - created[i - 1]!} ms apart`);
  } finally {
    for (const c of contexts) {
      await c.close();
      c.deps.redis.disconnect();
    }
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});
