/**
 * The background job that returns expired leases to the ready lists (see store/lease-sweep.ts).
 * A chain of timeouts, not setInterval, so a slow sweep never overlaps the next one.
 */
import type { ControlPlaneDeps } from './deps.js';
import { sweepExpiredLeases } from './store/lease-sweep.js';

export interface LeaseSweeper {
  stop(): Promise<void>;
}

export function startLeaseSweeper(deps: ControlPlaneDeps): LeaseSweeper {
  const logger = deps.logger.child({ component: 'lease-sweeper' });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    try {
      const { requeued, failed } = await sweepExpiredLeases(deps.redis, deps.ks, deps.now(), deps.config.maxDeliveries);
      if (requeued > 0) deps.metrics.leaseExpiries.inc({ result: 'requeued' }, requeued);
      if (failed > 0) {
        deps.metrics.leaseExpiries.inc({ result: 'failed' }, failed);
        deps.metrics.results.inc({ outcome: 'failed', code: 'PAR_ERR_LEASE_EXPIRED' }, failed);
      }
      if (requeued > 0 || failed > 0) logger.info({ requeued, failed }, 'expired leases swept');
    } catch (error) {
      logger.warn({ err: error }, 'lease sweep failed; will retry');
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, deps.config.leaseSweepIntervalMs);
  };
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
