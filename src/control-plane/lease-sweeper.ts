/**
 * The background job that returns expired leases to the ready lists (see store/lease-sweep.ts),
 * every `leaseSweepIntervalMs` on the periodic loop (src/lib/periodic.ts: never overlapping).
 */
import { periodic } from '../lib/periodic.js';
import type { ControlPlaneDeps } from './deps.js';
import { sweepExpiredLeases } from './store/lease-sweep.js';

export interface LeaseSweeper {
  stop(): Promise<void>;
}

export function startLeaseSweeper(deps: ControlPlaneDeps): LeaseSweeper {
  const logger = deps.logger.child({ component: 'lease-sweeper' });
  const loop = periodic({
    name: 'lease sweep',
    logger,
    intervalMs: deps.config.leaseSweepIntervalMs,
    runAtStart: false,
    tick: async () => {
      const { requeued, failed } = await sweepExpiredLeases(deps.redis, deps.ks, deps.now(), deps.config.maxDeliveries);
      if (requeued > 0) deps.metrics.leaseExpiries.inc({ result: 'requeued' }, requeued);
      if (failed > 0) {
        deps.metrics.leaseExpiries.inc({ result: 'failed' }, failed);
        deps.metrics.results.inc({ outcome: 'failed', code: 'PAR_ERR_LEASE_EXPIRED' }, failed);
      }
      if (requeued > 0 || failed > 0) logger.info({ requeued, failed }, 'expired leases swept');
    },
  });
  loop.start();
  return { stop: () => loop.stop() };
}
