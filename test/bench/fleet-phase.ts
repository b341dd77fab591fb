/**
 * The fleet inside `npm run bench`: one control plane on a private Redis holding N light runner
 * clients (fleet.ts, `npm run bench:fleet` for the full table and other sizes), printing the
 * wake-up p50/p99 (submission -> delivery to an idle runner's parked poll), how even the runners'
 * request rate was meanwhile, the idle request rate it served against the rate the fleet wanted,
 * and its CPU.
 */
import { runFleet } from './fleet.js';
import type { BenchPhase } from './phase.js';

export function fleetPhase(options: { runners: number }): BenchPhase {
  return {
    name: `fleet of ${options.runners} runners`,
    timeoutMs: 300_000,
    async run(ctx) {
      const f = await runFleet({ runners: options.runners, cpLogLevel: 'warn', log: () => undefined });
      const wanted = Math.round(options.runners / (f.healthIntervalMs / 1000));
      ctx.figures.set('fleet.wakeP99Ms', f.wake.p99Ms);
      ctx.rows.push({
        metric: `fleet wake-up p50 / p99 (${options.runners} runners)`,
        value: `${f.wake.p50Ms} / ${f.wake.p99Ms} ms`,
        note: `${f.wake.delivered} of ${f.wake.tasks} delivered; target p99 <= 50 ms at 10,000 runners`,
      });
      ctx.rows.push({
        metric: `fleet requests per 250 ms, min / mean / max`,
        value: `${f.requestsPer250Ms.min} / ${f.requestsPer250Ms.mean} / ${f.requestsPer250Ms.max}`,
        note: 'through the wake phase; max >> mean: the fleet polls in waves (ARCHITECTURE.md, Fleet scale)',
      });
      ctx.rows.push({
        metric: `fleet idle: requests/s served`,
        value: String(f.idle.requestsPerSecond),
        note: `wanted ~${wanted}; control plane ${f.idle.cpCpuPercentOfOneCore} % of a core, ${f.idle.cpCpuMsPerRequest} ms per request`,
      });
      if (f.wake.delivered < f.wake.tasks) throw new Error(`fleet: ${f.wake.tasks - f.wake.delivered} wake-up tasks were not delivered`);
    },
  };
}
