/**
 * Leases: handing tasks out (dequeue), keeping them (heartbeat), and the start-up grace period.
 * A lease is the pair (leaseToken, leaseExpiresAt) on the task hash plus the task's entry in the
 * global `leases` sorted set (score = expiry) that the sweeper scans.
 */
import type { Redis } from 'ioredis';
import type { UnsignedTaskClaims } from '../../crypto/task-signature.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

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

export async function leaseReadyTasks(redis: Redis, ks: KeySpace, runnerId: string, tokens: readonly string[], now: number, leaseMs: number): Promise<LeasedTask[]> {
  if (tokens.length === 0) return [];
  const reply = (await runLuaScript(redis, 'lease-ready-tasks', [ks.ready(runnerId), ks.leases], [ks.taskPrefix, now, leaseMs, ...tokens])) as [number, [string, number, string, string, string][]];
  const [expires, rows] = reply;
  return rows.map(([taskId, attempt, leaseToken, signedTask, claims]) => ({
    taskId,
    attempt: Number(attempt),
    leaseToken,
    leaseExpiresAt: Number(expires),
    signedTask,
    ...(claims ? { claims: JSON.parse(claims) as UnsignedTaskClaims } : {}),
  }));
}

export type HeartbeatStatus = 'ok' | 'stale' | 'final' | 'unknown';

export interface HeartbeatResult {
  taskId: string;
  status: HeartbeatStatus;
  leaseExpiresAt?: number;
}

/** One round trip for the whole batch. */
export async function heartbeatLeases(redis: Redis, ks: KeySpace, runnerId: string, leases: readonly { taskId: string; leaseToken: string }[], now: number, leaseMs: number): Promise<HeartbeatResult[]> {
  if (leases.length === 0) return [];
  const args = leases.flatMap((l) => [l.taskId, l.leaseToken]);
  const [expires, statuses] = (await runLuaScript(redis, 'lease-heartbeat', [ks.leases, ks.ready(runnerId)], [ks.taskPrefix, now, leaseMs, runnerId, ...args])) as [number, HeartbeatStatus[]];
  return leases.map((l, i) => {
    const status = statuses[i] ?? 'unknown';
    return status === 'ok' ? { taskId: l.taskId, status, leaseExpiresAt: Number(expires) } : { taskId: l.taskId, status };
  });
}

/**
 * Called on start: no runner could heartbeat while the control plane was down, so expiring
 * their leases now would redeliver work that is still running.
 */
export async function extendAllLeases(redis: Redis, ks: KeySpace, now: number, leaseMs: number): Promise<number> {
  return Number(await runLuaScript(redis, 'lease-extend-all', [ks.leases], [ks.taskPrefix, now, leaseMs]));
}
