/**
 * The runner's health check: version, platform, allowlist, capacity, in-flight tasks, and whether
 * it can work (`healthy` + `problems`, e.g. its Redis is unreachable), due every
 * `PAR_HEALTH_INTERVAL_MS`. The control plane turns missing checks into `offline`.
 *
 * While the poll loop is polling, the check rides on the poll (`dueReport` / `carried`, poll-loop.ts):
 * one request per interval instead of two. This reporter's own timer is the fallback: at each
 * tick it sends the check through the separate endpoint unless the poll loop is carrying checks
 * and one went out recently (within two intervals, and at least one interval + 1 s: slack for a
 * busy machine). So a runner that is not polling (full,
 * draining, backing off, talking to an older control plane) still reports. A failed send is
 * logged (once per run of failures) and retried at the next tick: health is best effort, it
 * never stops the runner.
 */
import type { HealthReport } from '../contracts/runner-api.js';
import { periodic, type Periodic } from '../lib/periodic.js';
import type { Logger } from '../logging/logger.js';
import type { ClientResult } from './control-plane-client.js';

export interface HealthSnapshot {
  /** Tasks queued or running on this runner; undefined when it cannot be read (Redis down). */
  inFlight: number | undefined;
  /** Human-readable reasons the runner cannot work right now; empty when healthy. */
  problems: string[];
}

export interface HealthReporterDeps {
  send(report: HealthReport, signal: AbortSignal): Promise<ClientResult<unknown>>;
  /** Gathers what changes between checks; must not throw (report problems instead). */
  snapshot(): Promise<HealthSnapshot>;
  version: string;
  platform: string;
  allowlist: readonly string[];
  capacity: number;
  intervalMs: number;
  logger: Logger;
  /** True while the poll loop carries checks on its polls (PollLoop.carrying); absent: always sent apart. */
  carrier?: () => boolean;
  now?: () => number;
}

/** How recent a carried check must be for the timer to leave the next one to the poll. */
function carriedWithinMs(intervalMs: number): number {
  return Math.max(2 * intervalMs, intervalMs + 1000);
}

export class HealthReporter {
  private readonly abort = new AbortController();
  private failing = false;
  /** When the last check that reached the control plane was sent (either way); undefined before the first. */
  private lastSentAt: number | undefined;
  /** When the check handed to the poll loop was built (it goes out right after). */
  private handedAt: number | undefined;
  /** A tick at start, then one every interval after the previous one ended (never overlapping). */
  private readonly loop: Periodic;

  constructor(private readonly deps: HealthReporterDeps) {
    this.loop = periodic({
      name: 'health check',
      tick: () => this.tick(),
      intervalMs: deps.intervalMs,
      logger: deps.logger,
      stopWaitMs: 2000,
    });
  }

  get intervalMs(): number {
    return this.deps.intervalMs;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    const stopped = this.loop.stop();
    this.abort.abort();
    await stopped;
  }

  /** How long until the next check is due (0: due now). */
  msUntilDue(): number {
    if (this.lastSentAt === undefined) return 0;
    return Math.max(0, this.lastSentAt + this.deps.intervalMs - this.now());
  }

  /** The check to carry on the next poll if one is due, else undefined. */
  async dueReport(): Promise<HealthReport | undefined> {
    if (this.msUntilDue() > 0) return undefined;
    const report = await this.build();
    this.handedAt = this.now();
    return report;
  }

  /**
   * The poll carrying a check was answered: the control plane recorded it when the poll arrived,
   * so the next one is due an interval after it was sent (not after the poll's wait).
   */
  carried(): void {
    this.delivered(this.handedAt ?? this.now());
  }

  /** The timer's fallback: sends apart unless the poll loop carries checks and one went out recently. */
  async tick(): Promise<void> {
    const carrying = this.deps.carrier?.() ?? false;
    if (carrying && (this.lastSentAt === undefined || this.now() - this.lastSentAt < carriedWithinMs(this.deps.intervalMs))) return;
    await this.reportOnce();
  }

  /** Builds and sends one check through the health endpoint; public so tests can drive it. */
  async reportOnce(): Promise<void> {
    const report = await this.build();
    const sentAt = this.now();
    const result = await this.deps.send(report, this.abort.signal);
    if (result.ok) {
      this.delivered(sentAt);
    } else if (!this.failing && result.kind !== 'aborted') {
      this.failing = true;
      this.deps.logger.warn({ code: result.error.code, err: result.error }, 'could not send a health check; retrying every interval');
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private delivered(sentAt: number): void {
    this.lastSentAt = sentAt;
    if (this.failing) this.deps.logger.info('health checks reach the control plane again');
    this.failing = false;
  }

  private async build(): Promise<HealthReport> {
    const snap = await this.deps.snapshot();
    return {
      version: this.deps.version,
      platform: this.deps.platform,
      allowlist: [...this.deps.allowlist],
      capacity: this.deps.capacity,
      inFlight: snap.inFlight ?? 0,
      healthy: snap.problems.length === 0,
      problems: snap.problems,
    };
  }
}

export interface HealthProbes {
  /** Resolves 'PONG' when the runner's Redis answers (bounded by the caller's timeout). */
  pingRedis(): Promise<string>;
  /** Tasks waiting, running or delayed on the runner's queue. */
  countInFlight(): Promise<number>;
  /** The poll loop's last outcome (`at` undefined before the first poll). */
  pollStatus(): { at: number | undefined; ok: boolean; consecutiveFailures: number; error?: { code: string } | undefined };
}

/** What the runner can say about itself now; never throws (a failing probe is a problem). */
export async function snapshotRunnerHealth(probes: HealthProbes): Promise<HealthSnapshot> {
  const problems: string[] = [];
  let inFlight: number | undefined;
  try {
    if ((await probes.pingRedis()) !== 'PONG') throw new Error('no PONG');
    inFlight = await probes.countInFlight();
  } catch {
    problems.push('runner Redis unreachable (REDIS_URL): tasks cannot be queued for workers');
  }
  const poll = probes.pollStatus();
  if (poll.at !== undefined && !poll.ok)
    problems.push(`polling the control plane fails: ${poll.error?.code ?? 'error'} (${poll.consecutiveFailures} failed polls)`);
  return { inFlight, problems };
}

/** `linux-x64 node v20.20.0`: what an operator needs to tell runners apart at a glance. */
export function platformDescription(): string {
  return `${process.platform}-${process.arch} node ${process.version}`;
}
