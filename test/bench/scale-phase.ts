/**
 * Worker scaling (`npm run bench:scale`): the same throughput run with 1, 2 and 4 worker
 * processes, each on a freshly started system, to show throughput growing with workers until
 * Redis or the machine's cores are the limit. Next to each figure: how many cores the whole
 * system kept busy (every process of the system + Redis + this client, from /proc and INFO cpu)
 * and Redis's own share of one core, so the table says which of the two ran out.
 */
import { cpus } from 'node:os';
import { runLanes, startBenchSystem, warmUp } from './bench-system.js';
import type { BenchPhase } from './phase.js';
import { processCpuMs, redisCpuMs } from './proc-stats.js';

export function workerScalingPhase(options: {
  workerCounts: readonly number[];
  tasks: number;
  inFlight: number;
  workerConcurrency: number;
}): BenchPhase {
  return {
    name: `worker scaling (${options.workerCounts.join(', ')} workers)`,
    // Per count: start-up (60 s bound in startSystem), warm-up and the run; generous but finite.
    timeoutMs: options.workerCounts.length * 240_000,
    async run(ctx) {
      let first: number | undefined;
      for (const workers of options.workerCounts) {
        const bench = await startBenchSystem({ workers, workerConcurrency: options.workerConcurrency });
        ctx.system = bench;
        try {
          await warmUp(bench, 20);
          const procs = bench.processes();
          const cpuBefore = procs.map((p) => processCpuMs(p.pid));
          const redisBefore = await redisCpuMs(bench.redis);
          const clientBefore = process.cpuUsage();
          const run = await runLanes(bench, options.tasks, options.inFlight);
          const client = process.cpuUsage(clientBefore);
          const redisMs = (await redisCpuMs(bench.redis)) - redisBefore;
          const procMs = procs.map((p, i) => processCpuMs(p.pid) - cpuBefore[i]!);
          const systemMs = procMs.reduce((a, b) => a + b, 0);
          const workerMs = procMs.filter((_, i) => procs[i]!.name.startsWith('worker')).reduce((a, b) => a + b, 0);
          const busyCores = (systemMs + redisMs + (client.user + client.system) / 1000) / (run.seconds * 1000);
          const tasksPerSecond = options.tasks / run.seconds;
          first ??= tasksPerSecond;
          ctx.figures.set(`scale.${workers}.tasksPerSecond`, tasksPerSecond);
          ctx.rows.push({
            metric: `${workers} worker${workers === 1 ? '' : 's'}: tasks/s`,
            value: tasksPerSecond.toFixed(0),
            note:
              `x${(tasksPerSecond / first).toFixed(2)} of 1 worker; ${busyCores.toFixed(2)} of ${cpus().length} cores busy, ` +
              `workers ${(workerMs / (run.seconds * 1000)).toFixed(2)} cores, Redis ${((redisMs / (run.seconds * 1000)) * 100).toFixed(0)} % of a core` +
              (run.failed > 0 ? `; ${run.failed} NOT succeeded` : ''),
          });
          if (run.failed > 0) throw new Error(`${run.failed} of ${options.tasks} tasks did not succeed with ${workers} workers`);
        } finally {
          delete ctx.system;
          await bench.stop();
        }
      }
    },
  };
}
