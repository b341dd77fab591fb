/**
 * Leases: handing tasks out (dequeue), keeping them (heartbeat), and the start-up grace period.
 * A lease is the pair (leaseToken, leaseExpiresAt) on the task hash plus the task's entry in the
 * global `leases` sorted set (score = expiry) that the sweeper scans.
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { UnsignedTaskClaims } from '../../crypto/task-signature.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';
import { healthArgs, type StoredHealth } from './runner-health.js';

export interface LeasedTask {
  taskId: string;
  attempt: number;
  leaseToken: string;
  leaseExpiresAt: number;
  /** The stored JWS (as signed at submit time). */
  signedTask: string;
  /** Present when the control plane signed the task itself and may re-sign it. */
  claims?: UnsignedTaskClaims;
}

/**
 * Leases up to `max` ready tasks of the runner and takes its pending cancels (task ids). `tokenSeed`: a fresh random string of fixed length
 * (newLeaseTokenSeed): the script derives each lease token from it (lease-ready-tasks.lua).
 * `health`: a health check the poll carried, recorded in the same script (received at `now`).
 */
export async function leaseReadyTasks(
  redis: Redis,
  ks: KeySpace,
  runnerId: string,
  max: number,
  tokenSeed: string,
  now: number,
  leaseMs: number,
  health?: StoredHealth,
): Promise<{ leased: LeasedTask[]; cancelled: string[] }> {
  if (max <= 0) return { leased: [], cancelled: [] };
  const reply = (await runLuaScript(
    redis,
    'lease-ready-tasks',
    [ks.ready(runnerId), ks.leases, ks.runnerCancels(runnerId), ks.runner(runnerId), ks.runnerHealth(runnerId)],
    [ks.taskPrefix, now, leaseMs, max, tokenSeed, ...(health ? healthArgs(health) : [])],
  )) as [number, [string, number, string, string, string][], string[]?];
  const [expires, rows, cancelled] = reply;
  return {
    cancelled: cancelled ?? [],
    leased: rows.map(([taskId, attempt, leaseToken, signedTask, claims]) => ({
      taskId,
      attempt,
      leaseToken,
      leaseExpiresAt: expires,
      signedTask,
      ...(claims ? { claims: JSON.parse(claims) as UnsignedTaskClaims } : {}),
    })),
  };
}

export type HeartbeatStatus = 'ok' | 'stale' | 'final' | 'unknown';

export interface HeartbeatResult {
  taskId: string;
  status: HeartbeatStatus;
  leaseExpiresAt?: number;
}

/** One round trip for the whole batch; `cancelled` (only when any): the heartbeated tasks a user cancelled. */
export async function heartbeatLeases(
  redis: Redis,
  ks: KeySpace,
  runnerId: string,
  leases: readonly { taskId: string; leaseToken: string }[],
  now: number,
  leaseMs: number,
): Promise<{ leases: HeartbeatResult[]; cancelled?: string[] }> {
  if (leases.length === 0) return { leases: [] };
  const args = leases.flatMap((l) => [l.taskId, l.leaseToken]);
  const [expires, statuses, cancelled] = (await runLuaScript(
    redis,
    'lease-heartbeat',
    [ks.leases, ks.ready(runnerId)],
    [ks.taskPrefix, now, leaseMs, runnerId, ...args],
  )) as [number, HeartbeatStatus[], string[]?];
  const results = leases.map((l, i): HeartbeatResult => {
    const status = statuses[i] ?? 'unknown';
    return status === 'ok' ? { taskId: l.taskId, status, leaseExpiresAt: expires } : { taskId: l.taskId, status };
  });
  return cancelled && cancelled.length > 0 ? { leases: results, cancelled } : { leases: results };
}

/**
 * Called on start: no runner could heartbeat while the control plane was down, so expiring
 * their leases now would redeliver work that is still running.
 */
export async function extendAllLeases(redis: Redis, ks: KeySpace, now: number, leaseMs: number): Promise<number> {
  return Number(await runLuaScript(redis, 'lease-extend-all', [ks.leases], [ks.taskPrefix, now, leaseMs]));
}
