/**
 * The system under bench: the real processes (control plane, runner, N workers) from
 * test/helpers/system.ts with warn-level logs, a local HTTP target, a Redis connection for
 * `INFO cpu`, and `runTask` (submit and wait, the way a user's client does it: one request,
 * POST /api/v1/tasks?wait=, as `par task run --wait`; or, for comparison, two: submit, then
 * GET /api/v1/tasks/:id?wait=).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer } from '../helpers/target-server.js';
import { connectRedis } from '../helpers/redis.js';

/** `one-request`: POST ?wait= (ApiClient.submitAndWait); `two-requests`: POST, then GET ?wait= (submitTask + waitForTask). */
export type SubmitMode = 'one-request' | 'two-requests';

export interface BenchSystem {
  system: System;
  redis: Redis;
  /** name -> pid of every process of the system. */
  processes(): { name: string; pid: number }[];
  /** One http.request task, submitted and waited for; resolves with its final state. */
  runTask(mode?: SubmitMode): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchSystem(options: {
  workers: number;
  workerConcurrency: number;
  /** Extra environment for every process of the system (e.g. PAR_TEST_NODE_ARGS for profiling). */
  env?: Record<string, string>;
}): Promise<BenchSystem> {
  const env = options.env ?? {};
  // Node's own default keep-alive (5 s), as a service in the private network would keep it: with
  // the tests' 1 s, undici opened a new connection for every task.
  const target = await startTargetServer({ keepAliveMs: 5000 });
  let system: System;
  try {
    system = await startSystem({
      workers: options.workers,
      cpEnv: { ...env, PAR_LOG_LEVEL: 'warn' },
      runnerEnv: { ...env, PAR_LOG_LEVEL: 'warn', PAR_RUNNER_CAPACITY: '256' },
      workerEnv: { ...env, PAR_LOG_LEVEL: 'warn', PAR_WORKER_CONCURRENCY: String(options.workerConcurrency) },
    });
  } catch (error) {
    await target.close();
    throw error;
  }
  const redis = connectRedis(system.redisUrl);
  const url = `${target.url}/health`;
  return {
    system,
    redis,
    processes: () =>
      [system.cp, system.runner, ...system.workers].map((p) => {
        if (p.proc.pid === undefined) throw new Error(`${p.name} has no pid`);
        return { name: p.name, pid: p.proc.pid };
      }),
    async runTask(mode = 'one-request') {
      const request = {
        runner: system.runnerName,
        action: 'com.datadoghq.http.request',
        inputs: { verb: 'GET', url, urlParams: { n: randomBytes(2).toString('hex') } },
      };
      if (mode === 'one-request') return (await system.api.submitAndWait(request, 60_000)).task.state;
      const task = await system.api.submitTask(request);
      return (await system.api.waitForTask(task.id, 60_000)).state;
    },
    async stop() {
      redis.disconnect();
      await system.stop();
      await target.close();
    },
  };
}

/** Warm-up (connections, JIT, key caches): `tasks` tasks at once; every worker has started once all succeeded. */
export async function warmUp(bench: BenchSystem, tasks: number): Promise<void> {
  const states = await Promise.all(Array.from({ length: tasks }, () => bench.runTask()));
  const bad = states.filter((s) => s !== 'succeeded');
  if (bad.length > 0) throw new Error(`warm-up: ${bad.length} of ${states.length} tasks did not succeed (${bad.join(', ')})`);
}

/** Runs `total` tasks with `inFlight` lanes; returns the sorted latencies (ms), failures and elapsed seconds. */
export async function runLanes(
  bench: BenchSystem,
  total: number,
  inFlight: number,
  mode: SubmitMode = 'one-request',
): Promise<{ latencies: number[]; failed: number; seconds: number }> {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < total) {
      next++;
      const t0 = performance.now();
      const state = await bench.runTask(mode);
      latencies.push(performance.now() - t0);
      if (state !== 'succeeded') failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, failed, seconds };
}
