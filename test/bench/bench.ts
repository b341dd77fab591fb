/**
 * `npm run bench`: the performance figures of issue 12, measured through the real processes
 * (control plane, runner, N workers) against a local HTTP server, next to a baseline measured in
 * the same run on the same Redis (bare BullMQ no-op jobs/s).
 *
 * The bench is a list of phases (one file each, phase.ts); each runs under its own deadline and
 * the first that fails or overruns ends the bench with a clear message. The process always exits
 * (code 0 when every phase passed, 1 otherwise), whatever handles are left open.
 *
 * Settings (env): BENCH_TASKS (default 2000), BENCH_CONCURRENCY (in flight, default 64),
 * BENCH_LATENCY_TASKS (1 in flight, for each way of waiting, default 300), BENCH_BASELINE_JOBS (default 5000),
 * BENCH_WORKERS (default 2), BENCH_IDLE_MS (before reading RSS, default 3000), BENCH_MONITOR_TASKS
 * (tasks run under Redis MONITOR to count commands per task per process, default 50),
 * BENCH_FLEET_RUNNERS (the fleet phase's runners, default 1000; `npm run bench:fleet` for more),
 * BENCH_ONLY=cold-start (only each process's cold start to ready, compiled and through tsx),
 * BENCH_ONLY=system (only the system phases: throughput at BENCH_CONCURRENCY, then 1 in flight),
 * BENCH_ONLY=scale (`npm run bench:scale`: throughput with 1, 2 and 4 workers, BENCH_SCALE_WORKERS
 * to choose, BENCH_TASKS tasks each), BENCH_ONLY=profile (`npm run bench:profile`: CPU per task per
 * process split by package / folder, from --cpu-prof).
 */
import { bareBullmqPhase } from './bare-bullmq-phase.js';
import { coldStartPhase } from './cold-start.js';
import { fleetPhase } from './fleet-phase.js';
import { envNumber, withDeadline, type BenchContext, type BenchPhase } from './phase.js';
import { loadAverage } from './proc-stats.js';
import { profilePhase } from './profile-phase.js';
import { redisCommandsPhase } from './redis-commands-phase.js';
import { workerScalingPhase } from './scale-phase.js';
import { idleRssPhase, latencyPhase, startSystemPhase, throughputPhase } from './system-phases.js';

const TASKS = envNumber('BENCH_TASKS', 2000);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 64);
const LATENCY_TASKS = envNumber('BENCH_LATENCY_TASKS', 300);
const BASELINE_JOBS = envNumber('BENCH_BASELINE_JOBS', 5000);
const WORKERS = envNumber('BENCH_WORKERS', 2);
const IDLE_MS = envNumber('BENCH_IDLE_MS', 3000);
const MONITOR_TASKS = envNumber('BENCH_MONITOR_TASKS', 50);
const WORKER_CONCURRENCY = 32;
const FLEET_RUNNERS = envNumber('BENCH_FLEET_RUNNERS', 1000);

const SCALE_WORKERS = (process.env['BENCH_SCALE_WORKERS'] ?? '1,2,4').split(',').map(Number);
if (!SCALE_WORKERS.every((n) => Number.isInteger(n) && n > 0))
  throw new Error(`BENCH_SCALE_WORKERS must be a comma-separated list of worker counts, got ${process.env['BENCH_SCALE_WORKERS'] ?? ''}`);

function phasesFor(only: string | undefined): BenchPhase[] {
  const start = startSystemPhase({ workers: WORKERS, workerConcurrency: WORKER_CONCURRENCY, warmupTasks: 20 });
  switch (only) {
    case 'cold-start':
      return [coldStartPhase()];
    case 'fleet':
      return [fleetPhase({ runners: FLEET_RUNNERS })];
    case 'system':
      return [start, throughputPhase({ tasks: TASKS, inFlight: CONCURRENCY }), latencyPhase({ tasks: LATENCY_TASKS })];
    case 'profile':
      return [profilePhase({ tasks: TASKS, inFlight: CONCURRENCY, workers: WORKERS, workerConcurrency: WORKER_CONCURRENCY, top: 8 })];
    case 'scale':
      return [
        workerScalingPhase({ workerCounts: SCALE_WORKERS, tasks: TASKS, inFlight: CONCURRENCY, workerConcurrency: WORKER_CONCURRENCY }),
      ];
    case undefined:
      return [
        bareBullmqPhase({ jobs: BASELINE_JOBS, workers: WORKERS, concurrency: WORKER_CONCURRENCY }),
        start,
        idleRssPhase({ idleMs: IDLE_MS }),
        throughputPhase({ tasks: TASKS, inFlight: CONCURRENCY }),
        latencyPhase({ tasks: LATENCY_TASKS }),
        redisCommandsPhase({ tasks: MONITOR_TASKS }),
        coldStartPhase(),
        fleetPhase({ runners: FLEET_RUNNERS }),
      ];
    default:
      throw new Error(`BENCH_ONLY must be one of cold-start, fleet, system, profile, scale; got ${only}`);
  }
}

const phases = phasesFor(process.env['BENCH_ONLY']);

const STOP_TIMEOUT_MS = 30_000;

function printTable(ctx: BenchContext): void {
  const out = process.stdout;
  out.write(
    `\nbenchmark: ${TASKS} tasks at ${CONCURRENCY} in flight, ${LATENCY_TASKS} at 1 in flight, ${WORKERS} workers x ${WORKER_CONCURRENCY}; load average ${loadAverage()}\n`,
  );
  const width = Math.max(...ctx.rows.map((r) => r.metric.length));
  for (const r of ctx.rows) out.write(`  ${r.metric.padEnd(width)}  ${r.value.padStart(10)}${r.note ? `  ${r.note}` : ''}\n`);
}

const ctx: BenchContext = { figures: new Map(), rows: [] };
let exitCode = 0;
// Whatever breaks (an error event nobody listens to, a rejection), the system's processes die
// with the bench and the bench exits non-zero: never an orphaned control plane or worker.
const crash = (error: unknown): void => {
  process.stderr.write(`bench: CRASHED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  if (ctx.system) for (const p of [ctx.system.system.cp, ctx.system.system.runner, ...ctx.system.system.workers]) p.proc.kill('SIGKILL');
  printTable(ctx);
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.stdout.write(`bench: load average at start ${loadAverage()}\n`);
for (const phase of phases) {
  const started = performance.now();
  try {
    await withDeadline(phase.name, phase.timeoutMs, () => phase.run(ctx));
    process.stdout.write(`bench: ${phase.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    process.stderr.write(
      `bench: phase "${phase.name}" FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    exitCode = 1;
    break;
  }
}
if (ctx.system) {
  try {
    await withDeadline('stop system', STOP_TIMEOUT_MS, () => ctx.system!.stop());
  } catch (error) {
    process.stderr.write(`bench: stopping the system FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
    exitCode = 1;
    // Never leave the system behind: what did not stop in time is killed.
    for (const p of [ctx.system.system.cp, ctx.system.system.runner, ...ctx.system.system.workers]) p.proc.kill('SIGKILL');
  }
}
printTable(ctx);
process.stdout.write(`bench: ${exitCode === 0 ? 'all phases passed' : 'FAILED'}\n`);
// Whatever handles a library left open (Redis connections, sockets), the bench is over.
process.exit(exitCode);
