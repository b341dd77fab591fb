/** Redis Cluster naming: which URLs mean a cluster, and the hash-tagged prefixes the configs derive. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadControlPlaneConfig } from '../../src/config/control-plane.js';
import { loadRunnerConfig } from '../../src/config/runner.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { hashTagged, isClusterUrl, keyPrefixFor, plainRedisUrl } from '../../src/lib/redis-cluster-keys.js';

test('redis+cluster:// and rediss+cluster:// name a cluster; redis:// and rediss:// do not', () => {
  assert.equal(isClusterUrl('redis+cluster://127.0.0.1:7000'), true);
  assert.equal(isClusterUrl('rediss+cluster://user:pw@h:7000'), true);
  assert.equal(isClusterUrl('redis://127.0.0.1:6379'), false);
  assert.equal(isClusterUrl('rediss://h:6380'), false);
  assert.equal(plainRedisUrl('rediss+cluster://user:pw@h:7000'), 'rediss://user:pw@h:7000');
});

test('a prefix is wrapped in a hash tag once; one holding a tag is kept', () => {
  assert.equal(hashTagged('par'), '{par}');
  assert.equal(hashTagged('par:cp'), '{par:cp}');
  assert.equal(hashTagged('{par}'), '{par}');
  assert.equal(hashTagged('tenant-{a}:cp'), 'tenant-{a}:cp');
  // `{}` is no tag for Redis: the whole key is hashed, so it gets wrapped.
  assert.equal(hashTagged('x{}'), '{x{}}');
  assert.equal(keyPrefixFor('redis://h:1', 'par'), 'par');
  assert.equal(keyPrefixFor('redis+cluster://h:1', 'par'), '{par}');
});

test('single Redis: the prefixes are unchanged (defaults as before)', () => {
  assert.equal(loadControlPlaneConfig({}).keyPrefix, 'par:cp');
  assert.equal(loadRunnerConfig({}).queuePrefix, 'par');
  assert.equal(loadWorkerConfig({}).queuePrefix, 'par');
  assert.equal(loadWorkerConfig({ PAR_QUEUE_PREFIX: 'team-a' }).queuePrefix, 'team-a');
});

test('cluster: the control plane, runner and worker derive hash-tagged prefixes (runner and worker agree)', () => {
  const url = 'redis+cluster://127.0.0.1:7000';
  assert.equal(loadControlPlaneConfig({ PAR_CP_REDIS_URL: url }).keyPrefix, '{par:cp}');
  assert.equal(loadRunnerConfig({ REDIS_URL: url, PAR_QUEUE_PREFIX: 'team-a' }).queuePrefix, '{team-a}');
  assert.equal(loadWorkerConfig({ REDIS_URL: url, PAR_QUEUE_PREFIX: 'team-a' }).queuePrefix, '{team-a}');
  assert.equal(loadWorkerConfig({ REDIS_URL: url, PAR_QUEUE_PREFIX: '{team-a}' }).queuePrefix, '{team-a}');
  assert.ok(Object.isFrozen(loadWorkerConfig({ REDIS_URL: url })));
});
