/**
 * `npm run bench:profile`: where a task's CPU goes. Starts the system with `--cpu-prof` on every
 * process, runs tasks at N in flight, stops the system (each process writes its profile as it
 * exits) and prints, per process, the CPU per task sampled during the run split by where the code
 * lives (npm package, our folder, Node.js built-in, GC, native). Read next to the CPU-per-task
 * target: it shows which parts of the round trip cost what.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLanes, startBenchSystem, warmUp } from './bench-system.js';
import { monotonicMicros, summariseProfile } from './cpu-profile.js';
import type { BenchPhase } from './phase.js';
import { waitUntil } from '../helpers/wait.js';

export function profilePhase(options: {
  tasks: number;
  inFlight: number;
  workers: number;
  workerConcurrency: number;
  top: number;
}): BenchPhase {
  return {
    name: `CPU profile at ${options.inFlight} in flight`,
    timeoutMs: 600_000,
    async run(ctx) {
      const dir = await mkdtemp(join(tmpdir(), 'par-cpuprof-'));
      try {
        const bench = await startBenchSystem({
          workers: options.workers,
          workerConcurrency: options.workerConcurrency,
          env: { PAR_TEST_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${dir}` },
        });
        ctx.system = bench;
        const procs = bench.processes();
        let window: { from: number; to: number };
        try {
          await warmUp(bench, 20);
          const from = monotonicMicros();
          const run = await runLanes(bench, options.tasks, options.inFlight);
          window = { from, to: monotonicMicros() };
          if (run.failed > 0) throw new Error(`${run.failed} of ${options.tasks} tasks did not succeed`);
        } finally {
          delete ctx.system;
          await bench.stop();
        }
        // Each process writes its profile while it exits; stop() has waited for the exits.
        const files = await waitUntil(
          async () => {
            const names = await readdir(dir);
            const found = procs.map((p) => names.find((n) => n.includes(`.${p.pid}.`) && n.endsWith('.cpuprofile')));
            return found.every((f) => f !== undefined) ? found : undefined;
          },
          30_000,
          'a CPU profile from every process',
        );
        procs.forEach((p, i) => {
          const summary = summariseProfile(join(dir, files[i]!), window.from, window.to);
          const perTask = (ms: number): string => `${(ms / options.tasks).toFixed(3)} ms`;
          ctx.rows.push({ metric: `${p.name}: sampled CPU per task`, value: perTask(summary.busyMs) });
          for (const [category, ms] of summary.byCategory.slice(0, options.top))
            ctx.rows.push({
              metric: `  ${category}`,
              value: perTask(ms),
              note: `${((ms / summary.busyMs) * 100).toFixed(0)} %`,
            });
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
