/**
 * Runner health: the last health check each runner sent, and the status derived from it.
 *
 *   ready           a check within `offlineAfterMs`, healthy
 *   unhealthy       a check within `offlineAfterMs`, not healthy (Redis unreachable, polls failing...)
 *   offline         the last check (or, for runners that never sent one, the last call) is older
 *   never_connected the runner never called the control plane (created, token not used yet)
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { RunnerHealth, RunnerStatus } from '../../contracts/admin-api.js';
import type { HealthReport } from '../../contracts/runner-api.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

/** A check is kept a while after the runner goes quiet so the page can still show its last state. */
const HEALTH_RECORD_TTL_MS = 30 * 86_400_000;

export interface StoredHealth extends RunnerHealth {
  healthy: boolean;
  problems: string[];
}

/** What is stored for a check (the report as received, plus when). */
export function healthRecord(report: Required<HealthReport>, receivedAt: number): StoredHealth {
  return {
    version: report.version,
    platform: report.platform,
    allowlist: [...report.allowlist],
    capacity: report.capacity,
    inFlight: report.inFlight,
    healthy: report.healthy,
    problems: [...report.problems],
    receivedAt,
  };
}

/** The Lua arguments that record a check (runner-health-write.lua): JSON, version, ttl ms. */
export function healthArgs(health: StoredHealth): [string, string, number] {
  return [JSON.stringify(health), health.version, HEALTH_RECORD_TTL_MS];
}

/** The separate health endpoint's write; a poll carrying its check records it with the lease pass (store/leases.ts). */
export async function recordHealth(
  redis: Redis,
  ks: KeySpace,
  runnerId: string,
  report: Required<HealthReport>,
  receivedAt: number,
): Promise<StoredHealth> {
  const health = healthRecord(report, receivedAt);
  const [json, version, ttl] = healthArgs(health);
  await runLuaScript(redis, 'runner-health-record', [ks.runner(runnerId), ks.runnerHealth(runnerId)], [json, version, receivedAt, ttl]);
  return health;
}

/** Last health check of each runner (absent: none). One round trip for the whole list. */
export async function loadHealth(redis: Redis, ks: KeySpace, runnerIds: readonly string[]): Promise<Map<string, StoredHealth>> {
  const found = new Map<string, StoredHealth>();
  if (runnerIds.length === 0) return found;
  const values = await redis.mget(runnerIds.map((id) => ks.runnerHealth(id)));
  runnerIds.forEach((id, i) => {
    const text = values[i];
    if (!text) return;
    try {
      found.set(id, JSON.parse(text) as StoredHealth);
    } catch {
      // A malformed record is treated as no check: the next one replaces it.
    }
  });
  return found;
}

export function runnerStatus(
  health: StoredHealth | undefined,
  lastSeenAt: number | undefined,
  now: number,
  offlineAfterMs: number,
): RunnerStatus {
  const recent = (at: number): boolean => now - at <= offlineAfterMs;
  if (health) {
    if (!recent(health.receivedAt)) return 'offline';
    return health.healthy ? 'ready' : 'unhealthy';
  }
  // Runners that enrolled but send no health checks (older versions) are judged by their last call.
  if (lastSeenAt !== undefined) return recent(lastSeenAt) ? 'ready' : 'offline';
  return 'never_connected';
}

export interface StatusSettings {
  redis: Redis;
  ks: KeySpace;
  now: number;
  offlineAfterMs: number;
}

/** Adds `status` and `health` to runner views (the list and detail routes call this). */
export async function withStatus<V extends { id: string; lastSeenAt?: number | undefined }>(
  s: StatusSettings,
  views: readonly V[],
): Promise<(V & { status: RunnerStatus; health?: RunnerHealth })[]> {
  const health = await loadHealth(
    s.redis,
    s.ks,
    views.map((v) => v.id),
  );
  return views.map((v) => {
    const h = health.get(v.id);
    return { ...v, status: runnerStatus(h, v.lastSeenAt, s.now, s.offlineAfterMs), ...(h ? { health: h } : {}) };
  });
}
