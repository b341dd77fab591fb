/**
 * Sends the runner's health check to the control plane every `PAR_HEALTH_INTERVAL_MS` (and once
 * at start, so a new runner shows up as Ready at once): version, platform, allowlist, capacity,
 * in-flight tasks, and whether it can work (`healthy` + `problems`, e.g. its Redis is unreachable).
 * The control plane turns missing checks into `offline`. A failed send is logged (once per run of
 * failures) and retried at the next tick: health is best effort, it never stops the runner.
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
}

export class HealthReporter {
  private readonly abort = new AbortController();
  private failing = false;
  /** A check at start, then one every interval after the previous one ended (never overlapping). */
  private readonly loop: Periodic;

  constructor(private readonly deps: HealthReporterDeps) {
    this.loop = periodic({
      name: 'health check',
      tick: () => this.reportOnce(),
      intervalMs: deps.intervalMs,
      logger: deps.logger,
      stopWaitMs: 2000,
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    const stopped = this.loop.stop();
    this.abort.abort();
    await stopped;
  }

  /** Builds and sends one check; public so tests can drive it. */
  async reportOnce(): Promise<void> {
    const snap = await this.deps.snapshot();
    const report: HealthReport = {
      version: this.deps.version,
      platform: this.deps.platform,
      allowlist: [...this.deps.allowlist],
      capacity: this.deps.capacity,
      inFlight: snap.inFlight ?? 0,
      healthy: snap.problems.length === 0,
      problems: snap.problems,
    };
    const result = await this.deps.send(report, this.abort.signal);
    if (result.ok) {
      if (this.failing) this.deps.logger.info('health checks reach the control plane again');
      this.failing = false;
    } else if (!this.failing && result.kind !== 'aborted') {
      this.failing = true;
      this.deps.logger.warn({ code: result.error.code, err: result.error }, 'could not send a health check; retrying every interval');
    }
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
