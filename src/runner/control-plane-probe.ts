/**
 * Notices that the control plane is back after an outage, so the runner does not sleep out a
 * long backoff (up to `PAR_POLL_BACKOFF_MAX_MS` / `PAR_PUBLISH_BACKOFF_MAX_MS`, 30 s) once it
 * returns. When a poll or a publish fails for lack of a control plane (no answer, 5xx), the probe
 * asks `GET /healthz` every `probeIntervalMs` (<= 1 s); when one fails and a later one answers,
 * `onBack` wakes the poll loop, the result publisher and the lease keeper. Results flow again
 * within about one probe interval of the control plane's return.
 *
 * Only a down -> up transition wakes anyone: a control plane that answers /healthz while refusing
 * calls with 5xx gets the normal backoff, not a wake-up every interval.
 */
import type { Logger } from '../logging/logger.js';
import { sleep } from '../lib/timing.js';

export interface ControlPlaneProbeDeps {
  /** One cheap request (GET /healthz); true when the control plane answers 200. */
  probe(signal: AbortSignal): Promise<boolean>;
  intervalMs: number;
  onBack(): void;
  logger: Logger;
}

export class ControlPlaneProbe {
  private readonly abort = new AbortController();
  private probing: Promise<void> | undefined;

  constructor(private readonly deps: ControlPlaneProbeDeps) {}

  /** A call found no control plane: probe until it answers again (one probe loop at a time). */
  unreachable(): void {
    if (this.probing || this.abort.signal.aborted) return;
    this.probing = this.loop().finally(() => {
      this.probing = undefined;
    });
  }

  stop(): void {
    this.abort.abort();
  }

  private async loop(): Promise<void> {
    const { signal } = this.abort;
    let sawDown = false;
    while (!signal.aborted) {
      let up: boolean;
      try {
        up = await this.deps.probe(signal);
      } catch {
        up = false;
      }
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the probe awaited: it may have aborted since the loop condition
      if (signal.aborted) return;
      if (up) {
        if (sawDown) {
          this.deps.logger.info('the control plane answers again; resuming polls and publications');
          this.deps.onBack();
        }
        return;
      }
      sawDown = true;
      await sleep(this.deps.intervalMs, signal);
    }
  }
}
