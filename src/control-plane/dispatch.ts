/**
 * Handing tasks to a runner: lease what is ready, or wait (up to waitMs) for a wake-up and try
 * again. A redelivery (attempt > 1) is re-signed with a fresh expiry, since the first JWS may
 * have expired while the lost runner held it. The runner's pending cancels (tasks a user cancelled
 * while it held them) end the wait too and go back in the same answer. A health check the poll
 * carries is recorded by the first lease pass (same Lua step: no extra round trip).
 */
import { randomBytes } from 'node:crypto';
import type { Delivery } from '../contracts/runner-api.js';
import type { ControlPlaneDeps } from './deps.js';
import { leaseReadyTasks, type LeasedTask } from './store/leases.js';
import type { StoredHealth } from './store/runner-health.js';

/** One per dequeue pass (24 base64url characters): the lease script derives the pass's lease tokens from it. */
export function newLeaseTokenSeed(): string {
  return randomBytes(18).toString('base64url');
}

export interface DequeueResult {
  tasks: Delivery[];
  /** Task ids the runner must stop (cancelled by a user). */
  cancelled: string[];
}

export async function dequeueForRunner(
  deps: ControlPlaneDeps,
  runnerId: string,
  max: number,
  waitMs: number,
  signal?: AbortSignal,
  health?: StoredHealth,
): Promise<DequeueResult> {
  const deadline = deps.now() + waitMs;
  // Armed before the first look at Redis: a task enqueued in between still wakes us.
  const armed = deps.wakeups.arm('runner', runnerId);
  let carried = health;
  try {
    for (;;) {
      const { leased, cancelled } = await leaseReadyTasks(
        deps.redis,
        deps.ks,
        runnerId,
        max,
        newLeaseTokenSeed(),
        carried?.receivedAt ?? deps.now(),
        deps.config.leaseMs,
        carried,
      );
      carried = undefined;
      if (leased.length > 0) {
        deps.metrics.delivered.inc(leased.length);
        const again = leased.filter((t) => t.attempt > 1).length;
        if (again > 0) deps.metrics.redeliveries.inc(again);
      }
      if (leased.length > 0 || cancelled.length > 0) return { tasks: await Promise.all(leased.map((t) => toDelivery(deps, t))), cancelled };
      const remaining = deadline - deps.now();
      if (remaining <= 0 || signal?.aborted || deps.wakeups.isClosed) return { tasks: [], cancelled: [] };
      // Woken: look again (another request may have taken the task; then we wait again).
      // Not woken (timeout, client gone, shutdown): nothing arrived, answer empty.
      if (!(await armed.wait(remaining, signal))) return { tasks: [], cancelled: [] };
    }
  } finally {
    armed.cancel();
  }
}

async function toDelivery(deps: ControlPlaneDeps, t: LeasedTask): Promise<Delivery> {
  const signedTask = t.attempt > 1 && t.claims ? await deps.signer.sign(t.claims, deps.config.taskTtlMs, deps.now()) : t.signedTask;
  return { taskId: t.taskId, attempt: t.attempt, leaseToken: t.leaseToken, leaseExpiresAt: t.leaseExpiresAt, signedTask };
}
