/**
 * Keeps in-flight leases alive: every `heartbeatIntervalMs`, one batch heartbeat with every lease
 * in the leases hash (read once per tick). Entries the control plane reports `final` (it has the
 * result), `unknown` (no such task) or `stale` (superseded by a newer delivery) are removed, each
 * only if its token is still the one sent. The hash is in Redis, so after a runner restart the
 * keeper picks up the leases of tasks that were running before.
 */
import type { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import type { HeartbeatResponse } from '../contracts/runner-api.js';
import type { ClientResult, LeaseRef } from './control-plane-client.js';
import type { LeaseEntry, LeaseStore } from './lease-store.js';
import { settleWithin } from './timing.js';

/** The heartbeat API's batch limit. */
const HEARTBEAT_BATCH = 1000;

export interface LeaseKeeperDeps {
  leases: LeaseStore;
  heartbeat(leases: readonly LeaseRef[]): Promise<ClientResult<HeartbeatResponse>>;
  intervalMs: number;
  onFatal(error: ParError): void;
  logger: Logger;
}

export interface HeartbeatTickReport {
  sent: number;
  extended: number;
  removed: number;
  failed: boolean;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private tickInProgress: Promise<unknown> | undefined;
  private stopped = false;
  private started = false;
  /** The shortest lease the control plane has granted (ms), once seen. */
  private leaseMs: number | undefined;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  /**
   * The control plane decides how long a lease lasts; the runner learns it from each grant.
   * Heartbeats come at least three times per lease, even when the configured interval is
   * longer, so a short lease is never lost between two heartbeats.
   */
  observeLeaseExpiry(expiresAt: number, now: number = Date.now()): void {
    const remaining = expiresAt - now;
    if (remaining <= 0 || (this.leaseMs !== undefined && remaining >= this.leaseMs)) return;
    const before = this.intervalMs();
    this.leaseMs = remaining;
    // A pending timer set for a longer interval would fire too late for this lease.
    if (this.timer && !this.tickInProgress && this.intervalMs() < before) this.schedule();
  }

  intervalMs(): number {
    return this.leaseMs === undefined ? this.deps.intervalMs : Math.max(50, Math.min(this.deps.intervalMs, Math.floor(this.leaseMs / 3)));
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule();
  }

  // A setTimeout chain rather than setInterval: a slow heartbeat never overlaps the next one.
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tickInProgress = this.tick().finally(() => {
        this.tickInProgress = undefined;
        if (!this.stopped) this.schedule();
      });
    }, this.intervalMs());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.tickInProgress) await settleWithin(this.tickInProgress, 5000);
  }

  /** One heartbeat round; public so tests and shutdown can drive it directly. */
  async tick(): Promise<HeartbeatTickReport> {
    const report: HeartbeatTickReport = { sent: 0, extended: 0, removed: 0, failed: false };
    let entries: LeaseEntry[];
    try {
      entries = await this.deps.leases.all();
    } catch (error) {
      this.deps.logger.warn({ reason: (error as Error).message }, 'cannot read leases from Redis; skipping this heartbeat');
      return { ...report, failed: true };
    }
    for (let i = 0; i < entries.length; i += HEARTBEAT_BATCH) {
      const batch = entries.slice(i, i + HEARTBEAT_BATCH);
      report.sent += batch.length;
      const result = await this.deps.heartbeat(batch);
      if (!result.ok) {
        report.failed = true;
        if (result.error.code === 'PAR_ERR_AUTH_RUNNER_UNKNOWN') {
          this.deps.logger.fatal({ code: result.error.code }, 'the control plane does not know this runner; heartbeats refused');
          this.deps.onFatal(result.error);
          return report;
        }
        this.deps.logger.warn({ code: result.error.code, kind: result.kind, leases: batch.length, reason: result.error.message }, 'heartbeat failed; retrying next interval');
        continue;
      }
      const tokens = new Map(batch.map((e) => [e.taskId, e.leaseToken]));
      const done: LeaseEntry[] = [];
      for (const lease of result.value.leases) {
        if (lease.status === 'ok') {
          report.extended += 1;
          if (lease.leaseExpiresAt !== undefined) this.observeLeaseExpiry(lease.leaseExpiresAt);
          continue;
        }
        const leaseToken = tokens.get(lease.taskId);
        if (leaseToken !== undefined) done.push({ taskId: lease.taskId, leaseToken });
      }
      if (done.length > 0) {
        try {
          report.removed += await this.deps.leases.removeIfCurrent(done);
        } catch (error) {
          this.deps.logger.warn({ reason: (error as Error).message }, 'cannot remove finished leases; will retry next interval');
        }
      }
    }
    if (report.sent > 0) this.deps.logger.debug(report, 'heartbeat');
    return report;
  }
}
