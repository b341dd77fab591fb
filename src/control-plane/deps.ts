/**
 * What the routes and background jobs of the control plane need, built once per process.
 * `createControlPlaneDeps` bootstraps the store (org, admin, keys, signing key) and opens the
 * shared wake-up subscriber; the caller owns the Redis connection it passes in.
 */
import { RunnerNameCache } from './store/runner-name-cache.js';
import type { Redis } from '../lib/redis-connection.js';
import type { ControlPlaneConfig } from '../config/control-plane.js';
import type { Jwks } from '../contracts/runner-api.js';
import type { TaskSigning } from '../crypto/task-signature.js';
import type { Logger } from '../logging/logger.js';
import { CallerCache } from './auth/caller-cache.js';
import { RunnerAuthenticator } from './auth/runner-auth.js';
import { HealthFlips } from './health-flips.js';
import { createControlPlaneMetrics, type ControlPlaneMetrics } from './metrics.js';
import { bootstrap } from './store/bootstrap.js';
import { keySpace, type KeySpace } from './store/key-space.js';
import { ParkedPolls } from './parked-polls.js';
import { SigningKeyRing } from './signing-keys.js';
import { Wakeups } from './wakeups.js';

export interface ControlPlaneDeps {
  readonly config: ControlPlaneConfig;
  readonly redis: Redis;
  readonly ks: KeySpace;
  readonly logger: Logger;
  /** Signs with the active key of the ring (follows rotations). */
  readonly signer: TaskSigning;
  /** Public task-signing keys (active + retiring), as runners pin them at enrollment. */
  readonly jwks: Jwks;
  /** The signing-key ring: key chain for runners, rotation. */
  readonly signingKeys: SigningKeyRing;
  readonly wakeups: Wakeups;
  readonly runnerAuth: RunnerAuthenticator;
  /** App-key callers resolved once per key while the auth epoch stands (auth/caller-cache.ts). */
  readonly callers: CallerCache;
  /** Runner names this process resolved, checked against the record on every use (store/runner-name-cache.ts). */
  readonly runnerNames: RunnerNameCache;
  /** This process's Prometheus metrics (its own registry), served at `/metrics`. */
  readonly metrics: ControlPlaneMetrics;
  /** Long polls by connection: another call on the same connection ends the wait (parked-polls.ts). */
  readonly parkedPolls: ParkedPolls;
  /** Logs runner health when it flips, from the health endpoint and polls alike. */
  readonly healthFlips: HealthFlips;
  readonly now: () => number;
}

export interface ControlPlaneContext {
  readonly deps: ControlPlaneDeps;
  readonly orgId: string;
  readonly adminUserId: string;
  /** Keys generated on this start (none given in config, none stored): shown once, never again. */
  readonly generatedKeys?: { apiKey: string; appKey: string };
  /** Releases waiters and closes the subscriber; the Redis connection stays the caller's. */
  close(): Promise<void>;
}

export interface CreateDepsOptions {
  config: ControlPlaneConfig;
  redis: Redis;
  logger: Logger;
  now?: () => number;
  /** Collect process metrics (CPU, memory, event loop) too; the server sets it, in-process test apps need not. */
  processMetrics?: boolean;
}

export async function createControlPlaneDeps(options: CreateDepsOptions): Promise<ControlPlaneContext> {
  const { config, redis, logger } = options;
  const now = options.now ?? Date.now;
  const ks = keySpace(config.keyPrefix);
  const boot = await bootstrap(redis, ks, { adminApiKey: config.adminApiKey, adminAppKey: config.adminAppKey, now: now() });
  const signingKeys = await SigningKeyRing.start({ redis, ks, config, logger: logger.child({ component: 'signing-keys' }), now });
  const wakeups = await Wakeups.start(redis, ks, logger.child({ component: 'wakeups' }));
  const deps: ControlPlaneDeps = {
    config,
    redis,
    ks,
    logger,
    signer: signingKeys,
    get jwks() {
      return signingKeys.jwks();
    },
    signingKeys,
    wakeups,
    runnerAuth: new RunnerAuthenticator(redis, ks, logger.child({ component: 'runner-auth' }), now),
    callers: new CallerCache(redis, ks, now),
    runnerNames: new RunnerNameCache(),
    metrics: createControlPlaneMetrics({ waiters: () => wakeups.size, defaultMetrics: options.processMetrics === true }),
    parkedPolls: new ParkedPolls(),
    healthFlips: new HealthFlips(),
    now,
  };
  return {
    deps,
    orgId: boot.orgId,
    adminUserId: boot.userId,
    ...(boot.generatedKeys ? { generatedKeys: boot.generatedKeys } : {}),
    close: async () => {
      await Promise.all([wakeups.close(), signingKeys.close()]);
    },
  };
}
