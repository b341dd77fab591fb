/**
 * A submission names its runner; each control-plane process remembers the name's id
 * (store/runner-name-cache.ts) and reads the runner's record by it at once. The record is the
 * judge: a runner renamed, deleted, or deleted and enrolled again under the same name is found
 * correctly on the next call. Real Redis, the store's own enrol and delete.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { RunnerNameCache } from '../../src/control-plane/store/runner-name-cache.js';
import { deleteRunner, enrollRunner, findRunnerInOrg } from '../../src/control-plane/store/runners.js';
import { generateSigningKeyPair, publicPart } from '../../src/crypto/keys.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';

const redis = connectRedis();
const prefix = uniquePrefix('runner-names');
const ks = keySpace(prefix);
after(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

async function enroll(orgId: string, name: string) {
  const k = await generateSigningKeyPair();
  return enrollRunner(redis, ks, {
    id: randomUUID(),
    orgId,
    name,
    publicKey: publicPart(k.publicJwk),
    allowlist: [],
    modes: ['pull'],
    version: 'test',
    enrolledBy: 'user-1',
    now: Date.now(),
  });
}

test('a remembered name is read by its id; renamed, deleted or enrolled again, the record decides', async () => {
  const names = new RunnerNameCache();
  const first = await enroll('org-a', 'edge');
  assert.equal((await findRunnerInOrg(redis, ks, 'org-a', 'edge', names))?.id, first.id);
  assert.equal(names.get('org-a', 'edge'), first.id, 'remembered');

  // Remembered: found by its id without the org's name index (removed here to show it).
  await redis.hdel(ks.orgRunners('org-a'), 'edge');
  assert.equal((await findRunnerInOrg(redis, ks, 'org-a', 'edge', names))?.id, first.id);
  assert.equal(await findRunnerInOrg(redis, ks, 'org-a', 'edge'), undefined, 'without the cache the name is gone');
  await redis.hset(ks.orgRunners('org-a'), 'edge', first.id);

  // Another org's name is not this org's.
  assert.equal(await findRunnerInOrg(redis, ks, 'org-b', 'edge', names), undefined);

  // Renamed behind this process's back: the old name no longer finds it, and is forgotten.
  await redis.hset(ks.runner(first.id), 'name', 'edge-2');
  await redis.hdel(ks.orgRunners('org-a'), 'edge');
  assert.equal(await findRunnerInOrg(redis, ks, 'org-a', 'edge', names), undefined);
  assert.equal(names.get('org-a', 'edge'), undefined, 'forgotten');
  await redis.hset(ks.runner(first.id), 'name', 'edge');
  await redis.hset(ks.orgRunners('org-a'), 'edge', first.id);
  assert.equal((await findRunnerInOrg(redis, ks, 'org-a', 'edge', names))?.id, first.id);

  // Deleted, then enrolled again under the same name (a new id): the new runner, at once.
  assert.equal(await deleteRunner(redis, ks, first), true);
  assert.equal(await findRunnerInOrg(redis, ks, 'org-a', 'edge', names), undefined, 'deleted: not found');
  const second = await enroll('org-a', 'edge');
  assert.notEqual(second.id, first.id);
  assert.equal(names.get('org-a', 'edge'), undefined);
  assert.equal((await findRunnerInOrg(redis, ks, 'org-a', 'edge', names))?.id, second.id);
  await deleteRunner(redis, ks, second);
  const third = await enroll('org-a', 'edge');
  assert.equal(names.get('org-a', 'edge'), second.id, 'still the old id here');
  assert.equal((await findRunnerInOrg(redis, ks, 'org-a', 'edge', names))?.id, third.id, 'the record decides');
  assert.equal(names.get('org-a', 'edge'), third.id);
});

test('the cache is bounded: the least recently used name goes first', () => {
  const names = new RunnerNameCache();
  for (let i = 0; i < 10_005; i++) names.set('o', `r${i}`, `id${i}`);
  assert.equal(names.size, 10_000);
  assert.equal(names.get('o', 'r0'), undefined);
  assert.equal(names.get('o', 'r5'), 'id5');
  names.set('o', 'new', 'idn');
  assert.equal(names.get('o', 'r5'), 'id5', 'used recently: kept');
  assert.equal(names.get('o', 'r6'), undefined, 'the oldest went');
});
