/**
 * THE periodic loop: runs `tick` every `intervalMs`, as a chain of timeouts rather than
 * setInterval, so a slow tick never overlaps the next one (the next interval starts when a tick
 * ends). A failing tick is logged as `{ err }` and the loop goes on. `stop()` cancels the pending
 * timer and waits for a running tick (at most `stopWaitMs`, so a shutdown never hangs on a dead
 * connection).
 */
import type { Logger } from 'pino';

export interface PeriodicOptions {
  /** What the loop does, for its log line: "<name> failed; will retry". */
  name: string;
  tick: () => Promise<unknown>;
  /** Read before every wait, so it may change (the lease keeper shortens it for short leases). */
  intervalMs: number | (() => number);
  logger: Logger;
  /** First tick at start (default) or one interval after it. */
  runAtStart?: boolean;
  /** The pending timer does not keep the process alive (for loops of long-lived helpers). */
  unref?: boolean;
  /** How long `stop()` waits for a running tick; default: until it ends. */
  stopWaitMs?: number;
}

export interface Periodic {
  start(): void;
  /** No more ticks; resolves once the running one (if any) ended or `stopWaitMs` passed. */
  stop(): Promise<void>;
  /** Runs a tick now, unless one is running or the loop is not started or stopped. */
  kick(): void;
  /** Re-arms a pending wait with the current interval (it shrank); no-op while a tick runs. */
  reschedule(): void;
  /** Whether a tick is running now. */
  readonly busy: boolean;
}

export function periodic(options: PeriodicOptions): Periodic {
  let started = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const interval = (): number => (typeof options.intervalMs === 'function' ? options.intervalMs() : options.intervalMs);

  const runTick = (): void => {
    timer = undefined;
    running = (async () => {
      try {
        await options.tick();
      } catch (err) {
        options.logger.warn({ err }, `${options.name} failed; will retry`);
      }
    })().finally(() => {
      running = undefined;
      schedule(interval());
    });
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(runTick, delayMs);
    if (options.unref) timer.unref();
  };

  return {
    start() {
      if (started || stopped) return;
      started = true;
      schedule(options.runAtStart === false ? interval() : 0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!running) return;
      if (options.stopWaitMs === undefined) {
        await running;
        return;
      }
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        running,
        new Promise<void>((resolve) => {
          bound = setTimeout(resolve, options.stopWaitMs);
        }),
      ]);
      clearTimeout(bound);
    },
    kick() {
      if (!started || stopped || running) return;
      schedule(0);
    },
    reschedule() {
      if (!started || stopped || running || !timer) return;
      schedule(interval());
    },
    get busy() {
      return running !== undefined;
    },
  };
}
