/**
 * The Lua scripts as files (src/lib/lua/): every file is registered, every include resolves,
 * the declared key counts match the scripts, and a script still runs after SCRIPT FLUSH (ioredis
 * falls back from EVALSHA to the source on NOSCRIPT). Real Redis.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { LATENCY_BOUNDS_MS, STATS_TTL_MS } from '../../src/control-plane/store/runner-stats.js';
import { MAX_TASK_EVENTS } from '../../src/control-plane/store/task-events.js';
import {
  LUA_SCRIPTS,
  loadLuaSource,
  luaCommandName,
  registerLuaScripts,
  runLuaScript,
  type LuaScriptName,
} from '../../src/lib/redis-scripts.js';
import { LeaseStore } from '../../src/runner/lease-store.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';

const LUA_DIR = fileURLToPath(new URL('../../src/lib/lua/', import.meta.url));
const names = Object.keys(LUA_SCRIPTS) as LuaScriptName[];

describe('Lua scripts as files', () => {
  let redis: Redis;
  const prefix = uniquePrefix('lua-scripts');

  before(() => {
    redis = connectRedis();
  });

  after(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('registers every .lua file of src/lib/lua and nothing else', () => {
    const files = readdirSync(LUA_DIR)
      .filter((f) => f.endsWith('.lua'))
      .map((f) => f.slice(0, -4))
      .sort();
    assert.deepEqual(files, [...names].sort());
    registerLuaScripts(redis);
    for (const name of names) {
      assert.equal(typeof (redis as unknown as Record<string, unknown>)[luaCommandName(name)], 'function', name);
    }
  });

  it('inlines every include and declares as many keys as each script reads', () => {
    for (const name of names) {
      const source = loadLuaSource(name);
      assert.doesNotMatch(source, /@include/, name);
      const used = [...source.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
      assert.equal(Math.max(0, ...used), LUA_SCRIPTS[name], `${name}: highest KEYS index`);
    }
    const withEvents = loadLuaSource('task-enqueue');
    assert.match(withEvents, /local function taskEvent/);
    assert.ok(withEvents.includes(`redis.call('LTRIM', k, -${MAX_TASK_EVENTS}, -1)`), 'the include trims to MAX_TASK_EVENTS');
    const withStats = loadLuaSource('result-record');
    assert.ok(
      withStats.includes(`local statsBounds = {${LATENCY_BOUNDS_MS.join(', ')}}`),
      'the stats include buckets by LATENCY_BOUNDS_MS',
    );
    assert.ok(withStats.includes(`redis.call('PEXPIRE', statsKey, ${STATS_TTL_MS})`), 'the stats include expires after STATS_TTL_MS');
  });

  it('still runs a script after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    const leases = new LeaseStore(redis, prefix, 'runner-1');
    await leases.record([
      { taskId: 't1', leaseToken: 'a' },
      { taskId: 't2', leaseToken: 'b' },
      { taskId: 't3', leaseToken: 'c' },
    ]);
    assert.equal(await leases.removeIfCurrent([{ taskId: 't1', leaseToken: 'a' }]), 1);

    const sha = createHash('sha1').update(loadLuaSource('runner-lease-remove-if-current')).digest('hex');
    assert.deepEqual(await redis.script('EXISTS', sha), [1]);
    await redis.script('FLUSH');
    assert.deepEqual(await redis.script('EXISTS', sha), [0]);

    assert.equal(
      await leases.removeIfCurrent([
        { taskId: 't2', leaseToken: 'b' },
        { taskId: 't3', leaseToken: 'stale' },
      ]),
      1,
    );
    assert.deepEqual(await leases.all(), [{ taskId: 't3', leaseToken: 'c' }]);
    assert.deepEqual(await redis.script('EXISTS', sha), [1]);
  });

  it('refuses a key list of the wrong length at run time too', async () => {
    await assert.rejects(
      runLuaScript(redis, 'runner-touch', [`${prefix}:a`, `${prefix}:b`] as unknown as readonly [string], [1]),
      /runner-touch takes 1 keys, got 2/,
    );
  });
});
