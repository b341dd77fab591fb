/**
 * App-key callers resolved once per key (CallerCache), on the real Redis. Two caches stand for
 * two control-plane processes: a change made through our store functions on one (revoke, re-scope,
 * team membership) counts on the other's very next call (the auth epoch), and a write made around
 * the store is seen once the TTL backstop has passed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { CallerCache, CALLER_CACHE_TTL_MS } from '../../src/control-plane/auth/caller-cache.js';
import { checkAppKey } from '../../src/control-plane/auth/keys.js';
import { addAppKey, createOrg, createUser, generateAppKey, hashKey } from '../../src/control-plane/store/credentials.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { revokeAppKey } from '../../src/control-plane/store/keys.js';
import { addTeam, setTeamMembers } from '../../src/control-plane/store/principals.js';
import { ParError } from '../../src/errors/par-error.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';

describe('app-key caller cache', () => {
  const prefix = uniquePrefix('caller-cache');
  const ks = keySpace(prefix);
  let redis: Redis;
  let orgId: string;
  let userId: string;

  before(async () => {
    redis = connectRedis();
    orgId = await createOrg(redis, ks, 'org');
    userId = await createUser(redis, ks, orgId, 'alice');
  });
  after(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  async function newKey(scopes: string[] = ['runners_read']): Promise<string> {
    const key = generateAppKey();
    await addAppKey(redis, ks, { orgId, owner: { type: 'user', id: userId }, scopes }, key);
    return key;
  }

  test('a key is loaded once, then answered from the cache', async () => {
    const cache = new CallerCache(redis, ks);
    const key = await newKey();
    for (let i = 0; i < 5; i++) {
      const r = await cache.resolve(key);
      assert.equal(r.principal?.id, userId);
    }
    assert.equal(cache.misses, 1);
    const unknown = generateAppKey();
    assert.equal((await cache.resolve(unknown)).record, undefined);
    assert.equal((await cache.resolve(unknown)).record, undefined);
    assert.equal(cache.misses, 3, 'unknown keys are never cached');
  });

  test('a key revoked through another process is refused on the next call', async () => {
    const here = new CallerCache(redis, ks);
    const key = await newKey();
    checkAppKey(key, (await here.resolve(key)).record, 'runners_read');
    await revokeAppKey(redis, ks, hashKey(key), Date.now());
    const after = await here.resolve(key);
    assert.throws(
      () => checkAppKey(key, after.record, 'runners_read'),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUTH_APP_KEY_REVOKED',
    );
  });

  test('re-scoping a key and team changes count on the next call', async () => {
    const here = new CallerCache(redis, ks);
    const key = await newKey(['runners_read']);
    const first = await here.resolve(key);
    assert.throws(
      () => checkAppKey(key, first.record, 'on_prem_runner_write'),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUTH_SCOPE_MISSING',
    );
    await addAppKey(redis, ks, { orgId, owner: { type: 'user', id: userId }, scopes: ['runners_read', 'on_prem_runner_write'] }, key);
    checkAppKey(key, (await here.resolve(key)).record, 'on_prem_runner_write');

    const team = await addTeam(redis, ks, orgId, { name: 'ops', members: [userId] }, Date.now());
    assert.ok((await here.resolve(key)).principal?.teams.includes(team.id));
    await setTeamMembers(redis, ks, orgId, team.id, []);
    assert.ok(!(await here.resolve(key)).principal?.teams.includes(team.id));
  });

  test('a write made around the store is seen once the TTL has passed', async () => {
    let now = Date.now();
    const here = new CallerCache(redis, ks, () => now);
    const key = await newKey();
    await here.resolve(key);
    await redis.hset(ks.appKey(hashKey(key)), 'revokedAt', String(now));
    assert.equal((await here.resolve(key)).record?.revokedAt, undefined, 'inside the TTL: still the cached record');
    now += CALLER_CACHE_TTL_MS;
    assert.equal((await here.resolve(key)).record?.revokedAt, now - CALLER_CACHE_TTL_MS);
  });
});
