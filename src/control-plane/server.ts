/**
 * The control-plane process: Redis, bootstrap, start-up lease grace, HTTP listener, lease
 * sweeper, and an orderly close().
 */
import type { AddressInfo } from 'node:net';
import type { ControlPlaneConfig } from '../config/control-plane.js';
import { ParError } from '../errors/par-error.js';
import { createRedisConnection, type Redis } from '../lib/redis-connection.js';
import type { Logger } from '../logging/logger.js';
import { buildApp } from './app.js';
import { createControlPlaneDeps } from './deps.js';
import { startLeaseSweeper } from './lease-sweeper.js';
import { extendAllLeases } from './store/leases.js';

/**
 * Pending connections the kernel queues for accept() (Node's default is 511). A fleet of runners
 * reconnecting at once (control-plane restart) overflows 511: the dropped SYNs are retried by the
 * clients only after 1 s, then 3 s. The kernel caps it at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 8192;

export interface RunningControlPlane {
  url: string;
  /** Set only on the start that generated them; the CLI prints them once. */
  adminKeys?: { apiKey: string; appKey: string };
  /** Long polls and task waits blocked on a wake-up right now (tests wait on it instead of sleeping). */
  parkedWaits(): number;
  close(): Promise<void>;
}

/** The Redis URL without its password, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}

async function connectRedis(url: string): Promise<Redis> {
  const redis = createRedisConnection(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  redis.on('error', () => {
    /* reported by the failing command; ioredis reconnects on its own */
  });
  try {
    await redis.connect();
    return redis;
  } catch (error) {
    redis.disconnect();
    throw new ParError('PAR_ERR_INTERNAL', `cannot reach Redis at ${safeUrl(url)}`, { cause: error });
  }
}

export async function runControlPlane(config: ControlPlaneConfig, logger: Logger): Promise<RunningControlPlane> {
  const redis = await connectRedis(config.redisUrl);
  const log = logger.child({ component: 'control-plane' });
  try {
    const context = await createControlPlaneDeps({ config, redis, logger, processMetrics: true });
    const { deps } = context;
    // Runners could not heartbeat while we were down: give every lease a full period first.
    const extended = await extendAllLeases(redis, deps.ks, deps.now(), config.leaseMs);
    if (extended > 0) log.info({ leases: extended }, 'extended outstanding leases after start');

    const app = buildApp(deps);
    await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
    const sweeper = startLeaseSweeper(deps);
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host}:${address.port}`;
    log.info({ url, orgId: context.orgId }, 'control plane listening');

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        await sweeper.stop();
        await app.close(); // preClose releases waiting long polls first
        await context.close();
        await redis.quit().catch(() => redis.disconnect());
        log.info('control plane stopped');
      })();
      return closing;
    };
    return { url, ...(context.generatedKeys ? { adminKeys: context.generatedKeys } : {}), parkedWaits: () => deps.wakeups.parked, close };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}
