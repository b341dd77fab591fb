/**
 * The long-poll loop: ask the control plane for up to `capacity - inFlight` tasks, hand each
 * response to intake, repeat. While the runner is full it does not poll at all (the control plane
 * keeps the tasks queued for runners with room). Failures back off with jitter up to
 * `pollBackoffMaxMs`; the first success resets the backoff. An answer may also name tasks a user
 * cancelled: they are forwarded to the workers (cancel-forwarder.ts) before the deliveries' intake.
 * `stop()` aborts the pending long poll, so shutdown does not wait for `pollWaitMs`.
 *
 * Health rides on the poll: when a check is due (health-reporter.ts) the poll carries it, and a
 * poll never waits past the next check's due time, so an idle runner makes one request per health
 * interval. A control plane that refuses the field (400, an older version) gets no more of it: the
 * reporter's timer sends the checks apart, and polls still wait at most one health interval, so a
 * call pipelined behind a parked poll (control-plane-client.ts) waits at most that long.
 *
 * A 401 `PAR_ERR_AUTH_RUNNER_UNKNOWN` means the control plane no longer knows this runner (it was
 * deleted, or the config dir was enrolled elsewhere): polling stops and the runner is told to exit.
 */
import type { Delivery, DequeueResponse, HealthReport } from '../contracts/runner-api.js';
import type { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import { backoffDelayMs, defaultInitialMs } from '../lib/backoff.js';
import type { ClientResult } from './control-plane-client.js';
import { settleWithin, sleep } from '../lib/timing.js';

/** Most tasks one dequeue may ask for (the API's limit). */
export const MAX_DEQUEUE = 100;

/** The health checks the poll carries (HealthReporter). */
export interface PollHealth {
  readonly intervalMs: number;
  msUntilDue(): number;
  dueReport(): Promise<HealthReport | undefined>;
  carried(): void;
}

export interface PollLoopDeps {
  dequeue(request: { max: number; waitMs: number; health?: HealthReport }, signal: AbortSignal): Promise<ClientResult<DequeueResponse>>;
  /** Carry health checks on the polls; absent: polls carry none (and wait the full waitMs). */
  health?: PollHealth;
  intake(deliveries: readonly Delivery[]): Promise<unknown>;
  /** Tasks accepted and not yet finished (waiting, delayed or active on the `tasks` queue). */
  inFlight(): Promise<number>;
  onFatal(error: ParError): void;
  /** A poll found no control plane (no answer, 5xx): start probing for its return (control-plane-probe.ts). */
  onUnreachable?(): void;
  /** Tells the workers to stop tasks a user cancelled (named in the answer); heartbeats repeat them, so a failure is only logged. */
  forwardCancels?(taskIds: readonly string[]): Promise<void>;
  capacity: number;
  waitMs: number;
  backoffMaxMs: number;
  /** How often to look again while full. */
  fullRecheckMs?: number;
  logger: Logger;
  now?: () => number;
}

export interface PollStatus {
  /** When the last poll finished (epoch ms); undefined before the first. */
  at: number | undefined;
  ok: boolean;
  error?: { code: string; message: string };
  consecutiveFailures: number;
}

export class PollLoop {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private failures = 0;
  private lastStatus: PollStatus = { at: undefined, ok: false, consecutiveFailures: 0 };
  /** Aborts the current backoff sleep (wake()). */
  private backoffSleep: AbortController | undefined;
  private wokenEarly = false;
  /** Full (no room): not polling, so not carrying health checks either. */
  private full = false;
  /** False once the control plane refused a check on the poll (an older version). */
  private carryHealth = true;

  constructor(private readonly deps: PollLoopDeps) {}

  get status(): PollStatus {
    return this.lastStatus;
  }

  /** True while polls carry the health checks: polling, not full, not failing, and the control plane takes them. */
  get carrying(): boolean {
    return (
      this.deps.health !== undefined &&
      this.carryHealth &&
      this.running !== undefined &&
      !this.abort.signal.aborted &&
      !this.full &&
      (this.lastStatus.at === undefined || this.lastStatus.ok)
    );
  }

  start(): void {
    this.running ??= this.loop().catch((error: unknown) => {
      this.deps.logger.error({ err: error }, 'poll loop crashed');
    });
  }

  /** Ends a backoff sleep now: the control plane is back (control-plane-probe.ts). */
  wake(): void {
    if (this.backoffSleep) this.backoffSleep.abort();
    // A poll in flight that fails after the wake-up must not sleep out a long backoff.
    else this.wokenEarly = true;
  }

  /**
   * Aborts the pending long poll and waits for the loop to end: an intake in progress completes,
   * unless Redis is unreachable (then its deliveries come back after their lease expires).
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.abort.abort();
    if (this.running && !(await settleWithin(this.running, timeoutMs))) {
      this.deps.logger.warn('poll loop did not stop in time (runner Redis unreachable?)');
    }
  }

  private async loop(): Promise<void> {
    const { signal } = this.abort;
    const now = this.deps.now ?? Date.now;
    while (!signal.aborted) {
      let room: number;
      try {
        room = Math.min(MAX_DEQUEUE, this.deps.capacity - (await this.deps.inFlight()));
      } catch (error) {
        await this.failed({ code: 'PAR_ERR_INTERNAL', message: `runner Redis unavailable: ${(error as Error).message}` }, now(), error);
        continue;
      }
      this.full = room <= 0;
      if (room <= 0) {
        await sleep(this.deps.fullRecheckMs ?? Math.min(500, Math.max(10, this.deps.waitMs)), signal);
        continue;
      }
      const { health } = this.deps;
      const report = health && this.carryHealth ? await health.dueReport() : undefined;
      // The first poll (and the first after a failure) does not wait: it tells at once whether the
      // control plane accepts this runner, which is what readiness reports.
      let waitMs = this.lastStatus.ok ? this.deps.waitMs : 0;
      // Never parked past the next check's due time (a check sent apart never waits longer than an interval behind it).
      if (health)
        waitMs = Math.min(waitMs, report || !this.carryHealth || health.msUntilDue() === 0 ? health.intervalMs : health.msUntilDue());
      const result = await this.deps.dequeue(report ? { max: room, waitMs, health: report } : { max: room, waitMs }, signal);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the dequeue awaited: it may have aborted since the loop condition
      if (signal.aborted) break;
      if (result.ok && report) health?.carried();
      if (!result.ok && report && result.status === 400 && result.error.code === 'PAR_ERR_REQUEST_INVALID') {
        this.carryHealth = false;
        this.deps.logger.info(
          { err: result.error },
          'the control plane does not take health checks on the poll (an older version?): sending them apart',
        );
        continue;
      }
      if (!result.ok) {
        if (result.error.code === 'PAR_ERR_AUTH_RUNNER_UNKNOWN') {
          this.lastStatus = {
            at: now(),
            ok: false,
            error: { code: result.error.code, message: result.error.message },
            consecutiveFailures: this.failures + 1,
          };
          this.deps.logger.fatal(
            { code: result.error.code },
            'the control plane does not know this runner: it was deleted, or this config dir was enrolled with another control plane. Remove config.yaml from the config dir to enroll again.',
          );
          this.deps.onFatal(result.error);
          return;
        }
        if (result.kind === 'network' || (result.status !== undefined && result.status >= 500)) this.deps.onUnreachable?.();
        await this.failed({ code: result.error.code, message: result.error.message, kind: result.kind }, now(), result.error);
        continue;
      }
      const cancelled = result.value.cancelled ?? [];
      if (cancelled.length > 0 && this.deps.forwardCancels) {
        try {
          await this.deps.forwardCancels(cancelled);
          this.deps.logger.info(
            { taskIds: cancelled.slice(0, 20), count: cancelled.length },
            'tasks cancelled on the control plane: told the workers to stop them',
          );
        } catch (error) {
          this.deps.logger.warn(
            { err: error, count: cancelled.length },
            'cannot forward cancels to the workers; the next heartbeat repeats them',
          );
        }
      }
      try {
        if (result.value.tasks.length > 0) await this.deps.intake(result.value.tasks);
      } catch (error) {
        // Leases recorded without their jobs are handed back by the lease keeper (orphans), so
        // these deliveries come back once their lease lapses.
        await this.failed({ code: 'PAR_ERR_INTERNAL', message: `intake failed: ${(error as Error).message}` }, now(), error);
        continue;
      }
      if (this.failures > 0) this.deps.logger.info({ afterFailures: this.failures }, 'polling recovered');
      this.failures = 0;
      this.wokenEarly = false;
      this.lastStatus = { at: now(), ok: true, consecutiveFailures: 0 };
    }
  }

  private async failed(error: { code: string; message: string; kind?: string }, at: number, err: unknown): Promise<void> {
    this.failures += 1;
    this.lastStatus = { at, ok: false, error: { code: error.code, message: error.message }, consecutiveFailures: this.failures };
    const delayMs = backoffDelayMs(this.failures, { initialMs: defaultInitialMs(this.deps.backoffMaxMs), maxMs: this.deps.backoffMaxMs });
    // The first failure is worth a warning; a long outage should not flood the log.
    const level = this.failures === 1 || this.failures % 20 === 0 ? 'warn' : 'debug';
    this.deps.logger[level](
      { code: error.code, kind: error.kind, err, failures: this.failures, retryInMs: delayMs },
      'poll failed; backing off',
    );
    if (this.wokenEarly) {
      this.wokenEarly = false;
      return;
    }
    const backoff = new AbortController();
    this.backoffSleep = backoff;
    const onStop = (): void => backoff.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    try {
      await sleep(delayMs, backoff.signal);
    } finally {
      this.abort.signal.removeEventListener('abort', onStop);
      if (this.backoffSleep === backoff) this.backoffSleep = undefined;
    }
  }
}
