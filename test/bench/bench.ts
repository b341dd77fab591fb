/**
 * `npm run bench`: end-to-end throughput and submit-to-result latency of http.request tasks
 * through the real processes (control plane, runner, 2 workers) against a local HTTP server,
 * next to a baseline measured in the same run on the same Redis: bare BullMQ no-op jobs/s.
 *
 * Then each process's cold start to ready, compiled (dist/) and through tsx (cold-start.ts).
 * Every phase has a time limit; a phase over it fails the run loudly (exit 1).
 *
 * Settings (env): BENCH_TASKS (default 2000), BENCH_CONCURRENCY (in-flight submissions, default 64),
 * BENCH_BASELINE_JOBS (default 5000), BENCH_WORKERS (default 2), BENCH_ONLY=cold-start (that
 * phase alone).
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startSystem } from '../helpers/system.js';
import { startTargetServer } from '../helpers/target-server.js';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { assertCompiledBuild, measureColdStarts, type ColdStart } from './cold-start.js';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 2000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 64);
const BASELINE_JOBS = Number(process.env['BENCH_BASELINE_JOBS'] ?? 5000);
const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 2);
const WORKER_CONCURRENCY = 32;
const ONLY = process.env['BENCH_ONLY'];
/** Target for a process's cold start to ready, compiled (issue 11). */
const COLD_START_TARGET_MS = 1_000;

/** Runs one phase within `limitMs`; over it, or on an error, the run fails loudly and exits 1. */
async function phase<T>(name: string, limitMs: number, run: () => Promise<T>): Promise<T> {
  process.stderr.write(`bench: phase "${name}" (limit ${limitMs / 1000} s)\n`);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`over its ${limitMs / 1000} s limit`)), limitMs); });
  try {
    return await Promise.race([run(), limit]);
  } catch (error) {
    process.stderr.write(`\nbench: phase "${name}" FAILED: ${(error as Error).message}\n`);
    process.exit(1);
  } finally {
    clearTimeout(timer);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function bareBullmq(): Promise<{ jobsPerSecond: number }> {
  const prefix = uniquePrefix('bench-bare');
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((r) => { finish = r; });
  const workers = Array.from({ length: WORKERS }, () => new Worker('noop', async () => null, {
    connection: new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }), prefix, concurrency: WORKER_CONCURRENCY,
    removeOnComplete: { count: 0 },
  }));
  for (const w of workers) w.on('completed', () => { if (++done === BASELINE_JOBS) finish(); });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const started = performance.now();
  for (let i = 0; i < BASELINE_JOBS; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, BASELINE_JOBS - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { jobId: `j${i + k}`, removeOnComplete: true } })));
  }
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  connection.disconnect();
  const redis = connectRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  return { jobsPerSecond: BASELINE_JOBS / seconds };
}

async function endToEnd(): Promise<{ tasksPerSecond: number; p50: number; p99: number; failed: number }> {
  const target = await startTargetServer();
  const system = await startSystem({
    workers: WORKERS,
    cpEnv: { PAR_LOG_LEVEL: 'warn' },
    runnerEnv: { PAR_LOG_LEVEL: 'warn', PAR_RUNNER_CAPACITY: '256' },
    workerEnv: { PAR_LOG_LEVEL: 'warn', PAR_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
  });
  try {
    // Warm-up: connections, JIT, key caches.
    await Promise.all(Array.from({ length: 20 }, () => system.api.submitTask({ runner: system.runnerName, action: 'com.datadoghq.http.request', inputs: { verb: 'GET', url: `${target.url}/health` } }).then((t) => system.api.waitForTask(t.id, 30_000))));
    const latencies: number[] = [];
    let failed = 0;
    let next = 0;
    const started = performance.now();
    const lane = async (): Promise<void> => {
      while (next < TASKS) {
        next++;
        const t0 = performance.now();
        const task = await system.api.submitTask({ runner: system.runnerName, action: 'com.datadoghq.http.request', inputs: { verb: 'GET', url: `${target.url}/health`, urlParams: { n: randomBytes(2).toString('hex') } } });
        const view = await system.api.waitForTask(task.id, 60_000);
        latencies.push(performance.now() - t0);
        if (view.state !== 'succeeded') failed++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return { tasksPerSecond: TASKS / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed };
  } finally {
    await system.stop();
    await target.close();
  }
}

function printColdStarts(rows: ColdStart[]): void {
  process.stdout.write(`\ncold start to ready (target <= ${COLD_START_TARGET_MS} ms compiled; RSS when ready)\n`);
  for (const r of rows) {
    const verdict = r.build === 'compiled' && r.process !== 'runner (enrolls)' ? (r.readyMs <= COLD_START_TARGET_MS ? 'ok' : 'OVER TARGET') : '';
    process.stdout.write(`  ${r.process.padEnd(18)} ${r.build.padEnd(9)} ${`${r.readyMs.toFixed(0)} ms`.padStart(9)}  ${`${r.rssMb.toFixed(0)} MB`.padStart(7)}  ${verdict}\n`);
  }
}

assertCompiledBuild();
if (ONLY === 'cold-start') {
  const cold = await phase('cold start', 240_000, async () => [...await measureColdStarts('compiled'), ...await measureColdStarts('tsx')]);
  printColdStarts(cold);
  process.exit(0);
}
const baseline = await phase('bare BullMQ baseline', 300_000, bareBullmq);
const e2e = await phase('end-to-end', 900_000, endToEnd);
const cold = await phase('cold start', 240_000, async () => [...await measureColdStarts('compiled'), ...await measureColdStarts('tsx')]);
const rows = [
  ['bare BullMQ no-op jobs', `${baseline.jobsPerSecond.toFixed(0)} jobs/s`, '', ''],
  ['end-to-end http.request', `${e2e.tasksPerSecond.toFixed(0)} tasks/s`, `p50 ${e2e.p50.toFixed(1)} ms`, `p99 ${e2e.p99.toFixed(1)} ms`],
];
process.stdout.write(`\nbenchmark: ${TASKS} tasks, ${CONCURRENCY} in flight, ${WORKERS} workers x ${WORKER_CONCURRENCY}; baseline ${BASELINE_JOBS} jobs on the same Redis\n`);
for (const r of rows) process.stdout.write(`  ${r[0]!.padEnd(26)} ${r[1]!.padStart(14)}  ${r[2]!.padStart(14)}  ${r[3]!.padStart(14)}\n`);
process.stdout.write(`  ratio end-to-end / bare BullMQ: ${(e2e.tasksPerSecond / baseline.jobsPerSecond).toFixed(3)}${e2e.failed ? `  (${e2e.failed} tasks failed)` : ''}\n`);
printColdStarts(cold);
