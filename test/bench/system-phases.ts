/**
 * The phases that use the running system: start it (and warm it up), idle RSS per process,
 * throughput + latency + CPU per task at N in flight, latency at 1 in flight.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runLanes, startBenchSystem, warmUp, type BenchSystem, type SubmitMode } from './bench-system.js';
import { type BenchContext, type BenchPhase, percentile } from './phase.js';
import { processCpuMs, processRssMb, redisCpuMs } from './proc-stats.js';
import { floorPackagesOf, rssFloorMb } from './rss-floor.js';
import { sampleSum, scrape } from '../helpers/prometheus.js';

/** Result publications the control plane has answered: batch requests + single-result requests (its /metrics). */
async function resultRequests(cpUrl: string): Promise<{ requests: number; results: number }> {
  const { samples } = await scrape(`${cpUrl}/metrics`);
  const results = sampleSum(samples, 'par_cp_result_reports_total');
  const batches = sampleSum(samples, 'par_cp_result_batch_size_count');
  const batched = sampleSum(samples, 'par_cp_result_batch_size_sum');
  return { requests: batches + (results - batched), results };
}

function systemOf(ctx: BenchContext): BenchSystem {
  if (!ctx.system) throw new Error('the system is not running (the "start system" phase did not run or failed)');
  return ctx.system;
}

export function startSystemPhase(options: { workers: number; workerConcurrency: number; warmupTasks: number }): BenchPhase {
  return {
    name: 'start system + warm-up',
    timeoutMs: 180_000,
    async run(ctx) {
      ctx.system = await startBenchSystem(options);
      await warmUp(ctx.system, options.warmupTasks);
    },
  };
}

export function idleRssPhase(options: { idleMs: number }): BenchPhase {
  return {
    name: 'idle RSS',
    timeoutMs: options.idleMs + 10_000,
    async run(ctx) {
      const bench = systemOf(ctx);
      await sleep(options.idleMs);
      const floors = new Map<string, Promise<number>>();
      const floorOf = (packages: readonly string[]): Promise<number> => {
        const key = packages.join(',');
        if (!floors.has(key)) floors.set(key, rssFloorMb(packages));
        return floors.get(key)!;
      };
      for (const p of bench.processes()) {
        const mb = processRssMb(p.pid);
        const packages = floorPackagesOf(p.name);
        const floor = packages === undefined ? undefined : await floorOf(packages);
        ctx.figures.set(`rss.${p.name}`, mb);
        ctx.rows.push({
          metric: `idle RSS ${p.name}`,
          value: `${mb.toFixed(0)} MB`,
          note:
            `after warm-up + ${options.idleMs / 1000} s idle` +
            (floor === undefined
              ? ''
              : `; floor ${floor.toFixed(0)} MB (node + ${packages!.join(', ')} only), ours above it ${(mb - floor).toFixed(0)} MB`),
        });
      }
      const bare = await rssFloorMb([]);
      ctx.rows.push({ metric: 'idle RSS bare node', value: `${bare.toFixed(0)} MB`, note: 'node itself, nothing imported' });
    },
  };
}

export function throughputPhase(options: { tasks: number; inFlight: number }): BenchPhase {
  return {
    name: `throughput at ${options.inFlight} in flight`,
    timeoutMs: 600_000,
    async run(ctx) {
      const bench = systemOf(ctx);
      const procs = bench.processes();
      const cpuBefore = procs.map((p) => processCpuMs(p.pid));
      const redisBefore = await redisCpuMs(bench.redis);
      const publishesBefore = await resultRequests(bench.system.cpUrl);
      const clientBefore = process.cpuUsage();
      const run = await runLanes(bench, options.tasks, options.inFlight);
      const client = process.cpuUsage(clientBefore);
      const publishesAfter = await resultRequests(bench.system.cpUrl);
      const redisMs = (await redisCpuMs(bench.redis)) - redisBefore;
      const cpuMs = procs.map((p, i) => processCpuMs(p.pid) - cpuBefore[i]!);

      const tasksPerSecond = options.tasks / run.seconds;
      ctx.figures.set('e2e.tasksPerSecond', tasksPerSecond);
      ctx.rows.push({
        metric: `e2e http.request tasks/s (${options.inFlight} in flight)`,
        value: tasksPerSecond.toFixed(0),
        note: `${options.tasks} tasks${run.failed ? `, ${run.failed} NOT succeeded` : ''}`,
      });
      const baseline = ctx.figures.get('baseline.jobsPerSecond');
      if (baseline !== undefined) {
        ctx.figures.set('e2e.ratio', tasksPerSecond / baseline);
        ctx.rows.push({ metric: 'ratio e2e / bare BullMQ', value: (tasksPerSecond / baseline).toFixed(3), note: 'target >= 0.25' });
      }
      ctx.rows.push({ metric: `latency p50 (${options.inFlight} in flight)`, value: `${percentile(run.latencies, 50).toFixed(1)} ms` });
      ctx.rows.push({ metric: `latency p99 (${options.inFlight} in flight)`, value: `${percentile(run.latencies, 99).toFixed(1)} ms` });
      const requests = publishesAfter.requests - publishesBefore.requests;
      const published = publishesAfter.results - publishesBefore.results;
      ctx.rows.push({
        metric: 'result requests per task',
        value: (requests / options.tasks).toFixed(3),
        note: `${requests} requests for ${published} results (control plane /metrics)`,
      });

      let total = 0;
      procs.forEach((p, i) => {
        const perTask = cpuMs[i]! / options.tasks;
        total += perTask;
        ctx.figures.set(`cpu.${p.name}`, perTask);
        ctx.rows.push({ metric: `CPU per task: ${p.name}`, value: `${perTask.toFixed(3)} ms` });
      });
      const redisPerTask = redisMs / options.tasks;
      total += redisPerTask;
      ctx.rows.push({
        metric: 'CPU per task: redis',
        value: `${redisPerTask.toFixed(3)} ms`,
        note: 'INFO cpu delta; includes other clients of this Redis',
      });
      ctx.figures.set('cpu.total', total);
      ctx.rows.push({ metric: 'CPU per task: all processes + redis', value: `${total.toFixed(3)} ms`, note: 'target <= 1.5 ms' });
      const clientMs = (client.user + client.system) / 1000 / options.tasks;
      ctx.rows.push({ metric: 'CPU per task: bench client (not counted)', value: `${clientMs.toFixed(3)} ms` });
      if (run.failed > 0) throw new Error(`${run.failed} of ${options.tasks} tasks did not succeed`);
    },
  };
}

/**
 * Submit -> result from the client's side at 1 in flight, both ways a client can wait: one request
 * (POST /api/v1/tasks?wait=, what `par task run --wait` sends) and two (submit, then GET ?wait=),
 * in alternating blocks of 10 so both see the same load.
 */
export function latencyPhase(options: { tasks: number }): BenchPhase {
  return {
    name: 'latency at 1 in flight',
    timeoutMs: 300_000,
    async run(ctx) {
      const bench = systemOf(ctx);
      const modes: { mode: SubmitMode; label: string }[] = [
        { mode: 'one-request', label: 'submit?wait=' },
        { mode: 'two-requests', label: 'submit + GET ?wait=' },
      ];
      const latencies = new Map<SubmitMode, number[]>(modes.map((m) => [m.mode, []]));
      let failed = 0;
      const BLOCK = 10;
      for (let done = 0; done < options.tasks; done += BLOCK) {
        for (const { mode } of modes) {
          const run = await runLanes(bench, Math.min(BLOCK, options.tasks - done), 1, mode);
          latencies.get(mode)!.push(...run.latencies);
          failed += run.failed;
        }
      }
      for (const { mode, label } of modes) {
        const sorted = latencies.get(mode)!.sort((a, b) => a - b);
        const primary = mode === 'one-request';
        if (primary) {
          ctx.figures.set('latency1.p50', percentile(sorted, 50));
          ctx.figures.set('latency1.p99', percentile(sorted, 99));
        }
        ctx.rows.push({
          metric: `latency p50 (1 in flight, ${label})`,
          value: `${percentile(sorted, 50).toFixed(1)} ms`,
          note: `${sorted.length} tasks${primary ? '; target <= 5 ms' : ''}`,
        });
        ctx.rows.push({
          metric: `latency p99 (1 in flight, ${label})`,
          value: `${percentile(sorted, 99).toFixed(1)} ms`,
          ...(primary ? { note: 'target <= 25 ms' } : {}),
        });
      }
      if (failed > 0) throw new Error(`${failed} of ${options.tasks * modes.length} tasks did not succeed`);
    },
  };
}
