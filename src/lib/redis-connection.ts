/**
 * THE factory of our Redis connections (control plane, runner, worker, CLI): one Redis or a Redis
 * Cluster, chosen by the URL. `redis://` and `rediss://` are a single Redis (as before);
 * `redis+cluster://host:port` (or `rediss+cluster://`) is a Redis Cluster reached through that
 * seed node (ioredis discovers the other nodes and follows MOVED/ASK and failovers).
 *
 * The key prefixes that go with a cluster (one hash tag per process) are in redis-cluster-keys.ts;
 * the config loaders apply them.
 */
import { Cluster, Redis as SingleRedis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { isClusterUrl, plainRedisUrl } from './redis-cluster-keys.js';

/** A connection to one Redis or to a Redis Cluster: every store function takes either. */
export type Redis = SingleRedis | Cluster;

/** Options common to both kinds; `maxRetriesPerRequest` etc. go to each node on a cluster. */
export type ConnectionOptions = Pick<
  RedisOptions,
  'lazyConnect' | 'maxRetriesPerRequest' | 'connectTimeout' | 'enableOfflineQueue' | 'retryStrategy'
>;

function clusterSeed(url: string): { host: string; port: number; tls: boolean; username?: string; password?: string } {
  const u = new URL(plainRedisUrl(url));
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    tls: u.protocol === 'rediss:',
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** A new connection for this URL (not connected yet when `lazyConnect` is set). */
export function createRedisConnection(url: string, options: ConnectionOptions = {}): Redis {
  if (!isClusterUrl(url)) return new SingleRedis(url, options);
  const seed = clusterSeed(url);
  const { lazyConnect, enableOfflineQueue, retryStrategy, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
    // BullMQ blocks on BRPOPLPUSH/BZPOPMIN: no per-request retry limit when the caller asks for none.
    maxRedirections: 16,
    // After a failover the old master answers MOVED/errors for a moment: retry soon, not after 2 s.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      ...nodeOptions,
      ...(seed.username ? { username: seed.username } : {}),
      ...(seed.password ? { password: seed.password } : {}),
      ...(seed.tls ? { tls: {} } : {}),
    },
  };
  return new Cluster([{ host: seed.host, port: seed.port }], clusterOptions);
}

/** A second connection to the same Redis (for SUBSCRIBE), lazily connected. */
export function duplicateConnection(redis: Redis): Redis {
  return redis instanceof Cluster ? redis.duplicate(undefined, { lazyConnect: true }) : redis.duplicate({ lazyConnect: true });
}
