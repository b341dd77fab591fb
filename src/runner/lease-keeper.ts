/**
 * Keeps in-flight leases alive, and only those: on start and every `heartbeatIntervalMs`, the
 * leases hash is read once, reconciled against BullMQ in one pipeline (lease-reconciler.ts), and
 * one batch heartbeat goes out for the leases whose task still exists on the runner's side (a job
 * that can run, or a result in the outbox). Every lease ends:
 *
 * - a task whose job failed without a result (stalled past the limit) gets a `PAR_ERR_WORKER_LOST`
 *   result in the outbox, published like any other failure;
 * - a lease with neither job nor result (a crash between recording leases and queuing jobs) is
 *   handed back: removed from the hash and no longer heartbeated, so the control plane's sweeper
 *   delivers the task again when the lease lapses. It must be orphaned at two reconciliations in a
 *   row with the same token (and not in an intake in progress), so an intake between its two
 *   writes is never mistaken for a crash;
 * - entries the control plane reports `final`, `unknown` or `stale` are removed, except tasks a
 *   user cancelled (listed in the answer's `cancelled`): the cancel is forwarded to the workers
 *   (`forwardCancels`) and the lease kept, so the run's own result is published under it (and
 *   removes it); until then every heartbeat forwards the cancel again.
 *
 * Every removal is conditional on the token still being the one seen. The hash is in Redis, so
 * after a restart the keeper picks up (and reconciles) the leases of tasks that were running.
 */
import type { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import type { HeartbeatResponse } from '../contracts/runner-api.js';
import type { ClientResult, LeaseRef } from './control-plane-client.js';
import type { LeaseEntry, LeaseStore } from './lease-store.js';
import type { LeaseInspection } from './lease-reconciler.js';
import { periodic, type Periodic } from '../lib/periodic.js';

/** The heartbeat API's batch limit. */
const HEARTBEAT_BATCH = 1000;

export interface LeaseKeeperDeps {
  leases: LeaseStore;
  heartbeat(leases: readonly LeaseRef[]): Promise<ClientResult<HeartbeatResponse>>;
  intervalMs: number;
  onFatal(error: ParError): void;
  logger: Logger;
  /** BullMQ's view of each lease's task (LeaseReconciler.inspect); without it every lease is heartbeated. */
  inspect?: (entries: readonly LeaseEntry[]) => Promise<LeaseInspection[]>;
  /** Writes a `PAR_ERR_WORKER_LOST` result to the outbox for each lost task (one batch). */
  reportLost?: (lost: readonly LeaseInspection[]) => Promise<void>;
  /** Task ids an intake is writing right now (leases recorded, jobs not yet added). */
  inIntake?(): ReadonlySet<string>;
  /** Tells the workers to stop these tasks (cancelled by a user); a throw keeps them for the next tick. */
  forwardCancels?(taskIds: readonly string[]): Promise<void>;
}

export interface HeartbeatTickReport {
  sent: number;
  extended: number;
  removed: number;
  failed: boolean;
  /** Leases with neither job nor result, handed back this tick. */
  handedBack: number;
  /** Tasks whose job failed without a result, reported as PAR_ERR_WORKER_LOST this tick. */
  lost: number;
  /** Cancelled tasks whose cancel was forwarded to the workers this tick. */
  cancelled: number;
}

export class LeaseKeeper {
  /** Ticks at start and every intervalMs() after the previous tick ended (never overlapping). */
  private readonly loop: Periodic;
  /** The shortest lease the control plane has granted (ms), once seen. */
  private leaseMs: number | undefined;
  /** Leases orphaned at the last reconciliation (task id -> token): handed back if still orphaned at the next. */
  private suspects = new Map<string, string>();
  /** Cancelled tasks already forwarded (while their lease lasts): forwarded again each tick, logged once. */
  private forwarded = new Set<string>();

  constructor(private readonly deps: LeaseKeeperDeps) {
    this.loop = periodic({
      name: 'heartbeat',
      tick: () => this.tick(),
      intervalMs: () => this.intervalMs(),
      logger: deps.logger,
      stopWaitMs: 5000,
    });
  }

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
    if (this.intervalMs() < before) this.loop.reschedule();
  }

  intervalMs(): number {
    return this.leaseMs === undefined ? this.deps.intervalMs : Math.max(50, Math.min(this.deps.intervalMs, Math.floor(this.leaseMs / 3)));
  }

  /** Starts ticking; the first tick (reconciliation + heartbeat) runs at once. */
  start(): void {
    this.loop.start();
  }

  /** Runs a tick now (the control plane is back after an outage); no-op while one is running. */
  kick(): void {
    this.loop.kick();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One heartbeat round; public so tests and shutdown can drive it directly. */
  async tick(): Promise<HeartbeatTickReport> {
    const report: HeartbeatTickReport = { sent: 0, extended: 0, removed: 0, failed: false, handedBack: 0, lost: 0, cancelled: 0 };
    let entries: LeaseEntry[];
    try {
      entries = await this.deps.leases.all();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'cannot read leases from Redis; skipping this heartbeat');
      return { ...report, failed: true };
    }
    const held = new Set(entries.map((e) => e.taskId));
    for (const id of this.forwarded) if (!held.has(id)) this.forwarded.delete(id);
    entries = await this.reconcile(entries, report);
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
        this.deps.logger.warn(
          { code: result.error.code, kind: result.kind, leases: batch.length, err: result.error },
          'heartbeat failed; retrying next interval',
        );
        continue;
      }
      const tokens = new Map(batch.map((e) => [e.taskId, e.leaseToken]));
      const cancelled = new Set((result.value.cancelled ?? []).filter((id) => tokens.has(id)));
      if (cancelled.size > 0) await this.forwardCancels([...cancelled], report);
      const done: LeaseEntry[] = [];
      for (const lease of result.value.leases) {
        if (cancelled.has(lease.taskId) && this.deps.forwardCancels) continue;
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
          this.deps.logger.warn({ err: error }, 'cannot remove finished leases; will retry next interval');
        }
      }
    }
    if (report.sent > 0 || report.handedBack > 0) this.deps.logger.debug(report, 'heartbeat');
    return report;
  }

  private async forwardCancels(taskIds: string[], report: HeartbeatTickReport): Promise<void> {
    if (!this.deps.forwardCancels) return;
    try {
      await this.deps.forwardCancels(taskIds);
      report.cancelled += taskIds.length;
      const fresh = taskIds.filter((id) => !this.forwarded.has(id));
      for (const id of fresh) this.forwarded.add(id);
      if (fresh.length > 0)
        this.deps.logger.info(
          { taskIds: fresh.slice(0, 20), count: fresh.length },
          'tasks cancelled on the control plane: told the workers to stop them',
        );
      else this.deps.logger.debug({ count: taskIds.length }, 'cancelled tasks still running: told the workers again');
    } catch (error) {
      this.deps.logger.warn({ err: error, count: taskIds.length }, 'cannot forward cancels to the workers; will retry next interval');
    }
  }

  /**
   * Returns the leases to heartbeat: those whose task still has a job or a result. Lost tasks get
   * their PAR_ERR_WORKER_LOST result first (then they are in the outbox); orphans seen twice in a
   * row are handed back. On a Redis error every lease is heartbeated (never drop on doubt).
   */
  private async reconcile(entries: LeaseEntry[], report: HeartbeatTickReport): Promise<LeaseEntry[]> {
    const { inspect, reportLost } = this.deps;
    if (!inspect || entries.length === 0) {
      this.suspects.clear();
      return entries;
    }
    let inspections: LeaseInspection[];
    try {
      inspections = await inspect(entries);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'cannot reconcile leases with the queues; heartbeating all of them');
      return entries;
    }
    const busy = this.deps.inIntake?.() ?? new Set<string>();
    const lost = inspections.filter((i) => i.state === 'lost');
    if (lost.length > 0 && reportLost) {
      try {
        await reportLost(lost);
        report.lost = lost.length;
        for (const l of lost) {
          this.deps.logger.warn(
            { taskId: l.taskId, code: 'PAR_ERR_WORKER_LOST', failedReason: l.failedReason },
            "the task's job failed without a result; reporting it as PAR_ERR_WORKER_LOST",
          );
        }
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'cannot write PAR_ERR_WORKER_LOST results; will retry next interval');
      }
    }
    const keep: LeaseEntry[] = [];
    const handBack: LeaseEntry[] = [];
    const suspects = new Map<string, string>();
    for (const i of inspections) {
      const entry = { taskId: i.taskId, leaseToken: i.leaseToken };
      if ((i.state !== 'orphan' && i.state !== 'finished') || busy.has(i.taskId)) {
        keep.push(entry);
      } else if (this.suspects.get(i.taskId) === i.leaseToken) {
        handBack.push(entry);
      } else {
        suspects.set(i.taskId, i.leaseToken);
        keep.push(entry);
      }
    }
    this.suspects = suspects;
    if (handBack.length > 0) {
      try {
        report.handedBack = await this.deps.leases.removeIfCurrent(handBack);
        this.deps.logger.warn(
          { taskIds: handBack.map((e) => e.taskId).slice(0, 20), count: handBack.length },
          'leases with neither a job nor a result handed back: no longer heartbeated, the control plane delivers them again when they lapse',
        );
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'cannot hand back orphaned leases; will retry next interval');
        return entries;
      }
    }
    return keep;
  }
}
