/**
 * The worker's liveness file (PAR_WORKER_LIVENESS_FILE): touched every interval while the worker
 * is healthy, i.e. its BullMQ consumer runs and Redis answers a PING within the interval. When
 * either stops, the file ages and `par healthcheck worker` (src/cli/healthcheck.ts) fails after
 * LIVENESS_STALE_INTERVALS intervals, so Docker or Kubernetes restart the worker. No HTTP server:
 * a file works the same under `docker run`, compose and a Kubernetes exec probe.
 */
import { rm, utimes, writeFile } from 'node:fs/promises';
import type { Logger } from '../src/logging/logger.js';

/** The file counts as stale when older than this many intervals (shared with the healthcheck). */
export const LIVENESS_STALE_INTERVALS = 3;

export interface LivenessProbe {
  /** True when the worker can take jobs: its consumer runs and Redis answered. */
  healthy(signal: AbortSignal): Promise<boolean>;
}

export interface LivenessFile {
  stop(): Promise<void>;
}

export function startLivenessFile(path: string, intervalMs: number, probe: LivenessProbe, logger: Logger): LivenessFile {
  const log = logger.child({ component: 'liveness' });
  let stopped = false;
  let wasHealthy: boolean | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    const signal = AbortSignal.timeout(intervalMs);
    let healthy: boolean;
    try {
      healthy = await probe.healthy(signal);
    } catch {
      healthy = false;
    }
    if (stopped) return;
    if (healthy !== wasHealthy) {
      if (healthy) log.info({ path, intervalMs }, 'worker live: touching the liveness file');
      else log.warn({ path }, 'worker not healthy: no longer touching the liveness file');
      wasHealthy = healthy;
    }
    if (!healthy) return;
    const now = new Date();
    try {
      await utimes(path, now, now);
    } catch {
      try {
        await writeFile(path, `${process.pid}\n`, { mode: 0o644 });
      } catch (error) {
        log.error({ err: error, path }, 'cannot write the liveness file');
      }
    }
  };

  running = tick();
  const timer = setInterval(() => {
    running = running.then(tick);
  }, intervalMs);
  timer.unref();

  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      await rm(path, { force: true });
    },
  };
}

/** Resolves true when `ping` answers PONG before the signal fires. */
export async function pingWithin(ping: () => Promise<string>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    ping()
      .then(
        (answer) => resolve(answer === 'PONG'),
        () => resolve(false),
      )
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}
