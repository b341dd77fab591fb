/**
 * Handing tasks to a runner: lease what is ready, or wait (up to waitMs) for a wake-up and try
 * again. A redelivery (attempt > 1) is re-signed with a fresh expiry, since the first JWS may
 * have expired while the lost runner held it.
 */
import { randomBytes } from 'node:crypto';
import type { Delivery } from '../contracts/runner-api.js';
import type { ControlPlaneDeps } from './deps.js';
import { leaseReadyTasks, type LeasedTask } from './store/leases.js';

export function newLeaseToken(): string {
  return randomBytes(18).toString('base64url');
}

export async function dequeueForRunner(deps: ControlPlaneDeps, runnerId: string, max: number, waitMs: number, signal?: AbortSignal): Promise<Delivery[]> {
  const deadline = deps.now() + waitMs;
  // Armed before the first look at Redis: a task enqueued in between still wakes us.
  const armed = deps.wakeups.arm('runner', runnerId);
  try {
    for (;;) {
      const leased = await leaseReadyTasks(deps.redis, deps.ks, runnerId, Array.from({ length: max }, newLeaseToken), deps.now(), deps.config.leaseMs);
      if (leased.length > 0) {
        deps.metrics.delivered.inc(leased.length);
        const again = leased.filter((t) => t.attempt > 1).length;
        if (again > 0) deps.metrics.redeliveries.inc(again);
        return Promise.all(leased.map((t) => toDelivery(deps, t)));
      }
      const remaining = deadline - deps.now();
      if (remaining <= 0 || signal?.aborted || deps.wakeups.isClosed) return [];
      // Woken: look again (another request may have taken the task; then we wait again).
      // Not woken (timeout, client gone, shutdown): nothing arrived, answer empty.
      if (!(await armed.wait(remaining, signal))) return [];
    }
  } finally {
    armed.cancel();
  }
}

async function toDelivery(deps: ControlPlaneDeps, t: LeasedTask): Promise<Delivery> {
  const signedTask = t.attempt > 1 && t.claims ? await deps.signer.sign(t.claims, deps.config.taskTtlMs, deps.now()) : t.signedTask;
  return { taskId: t.taskId, attempt: t.attempt, leaseToken: t.leaseToken, leaseExpiresAt: t.leaseExpiresAt, signedTask };
}
