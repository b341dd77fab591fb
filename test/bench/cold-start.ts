/**
 * Cold start of each process, from spawn to ready: the compiled build (bin/par.js -> dist/, as
 * the image runs it) next to the TypeScript sources through tsx (test/helpers/par-source.js).
 *   control plane  until GET /healthz answers 200
 *   runner         until GET /readyz answers 200 (a restart: its identity is already on disk,
 *                  so enrollment is not counted; the enrolling first start is measured beside it)
 *   worker         until its liveness file appears (written on its first healthy tick, right
 *                  after "worker ready")
 * RSS is read from /proc/<pid>/status once ready. Needs dist/ (`npm run build`; `npm run bench`
 * builds it when missing or stale) and the test Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePort } from '../../src/cli/local-redis.js';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import type { BenchPhase } from './phase.js';

const COMPILED_BIN = fileURLToPath(new URL('../../bin/par.js', import.meta.url));
const COMPILED_MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const SOURCE_BIN = fileURLToPath(new URL('../helpers/par-source.js', import.meta.url));
/** A process that is not ready after this long fails the phase. */
const READY_TIMEOUT_MS = 60_000;

export type Build = 'compiled' | 'tsx';

export interface ColdStart {
  process: 'control-plane' | 'runner (enrolls)' | 'runner' | 'worker';
  build: Build;
  readyMs: number;
  rssMb: number;
}

interface Started {
  proc: ChildProcess;
  t0: number;
  output: () => string;
}

function spawnPar(build: Build, args: string[], env: Record<string, string>): Started {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [build === 'compiled' ? COMPILED_BIN : SOURCE_BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PAR_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-20_000);
  });
  proc.stderr.on('data', (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-20_000);
  });
  return { proc, t0, output: () => out };
}

async function until(started: Started, what: string, ready: () => Promise<boolean>): Promise<number> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (await ready()) return performance.now() - started.t0;
    if (started.proc.exitCode !== null)
      throw new Error(`${what} exited (${started.proc.exitCode}) before it was ready:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${READY_TIMEOUT_MS} ms:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const httpOk = (url: string) => async (): Promise<boolean> => {
  try {
    const res = await request(url, { headersTimeout: 500, bodyTimeout: 500 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
};

async function rssMb(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function stop(started: Started): Promise<void> {
  if (started.proc.exitCode !== null || started.proc.signalCode !== null) return;
  const exited = new Promise((r) => started.proc.once('exit', r));
  started.proc.kill('SIGTERM');
  const timer = setTimeout(() => started.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export function assertCompiledBuild(): void {
  if (!existsSync(COMPILED_MAIN))
    throw new Error(`no compiled build at ${COMPILED_MAIN}: run \`npm run build\` first (\`npm run bench\` does)`);
}

/** Starts each process of one build in turn, measures, stops it. Everything it started is stopped and its keys deleted. */
export async function measureColdStarts(build: Build): Promise<ColdStart[]> {
  if (build === 'compiled') assertCompiledBuild();
  const base = uniquePrefix(`bench-cold-${build}`);
  const dir = await tempDir('bench-cold');
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  const running: Started[] = [];
  const results: ColdStart[] = [];
  try {
    const cpPort = await freePort();
    const cpUrl = `http://127.0.0.1:${cpPort}`;
    const cp = spawnPar(build, ['control-plane'], {
      PAR_CP_HOST: '127.0.0.1',
      PAR_CP_PORT: String(cpPort),
      PAR_CP_REDIS_URL: TEST_REDIS_URL,
      PAR_CP_KEY_PREFIX: `${base}:cp`,
      PAR_ADMIN_API_KEY: keys.apiKey,
      PAR_ADMIN_APP_KEY: keys.appKey,
    });
    running.push(cp);
    results.push({
      process: 'control-plane',
      build,
      readyMs: await until(cp, 'control plane', httpOk(`${cpUrl}/healthz`)),
      rssMb: await rssMb(cp.proc.pid),
    });

    const adminPort = await freePort();
    const runnerEnv = {
      DD_BASE_URL: cpUrl,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: `bench-cold-${randomBytes(3).toString('hex')}`,
      ACTIONS_ALLOWLIST: 'com.datadoghq.http.request',
      DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
      REDIS_URL: TEST_REDIS_URL,
      PAR_QUEUE_PREFIX: `${base}:q`,
      PAR_RUNNER_ADMIN_PORT: String(adminPort),
      PAR_AUDIT_DIR: join(dir.path, 'audit'),
    };
    const readyz = httpOk(`http://127.0.0.1:${adminPort}/readyz`);
    const first = spawnPar(build, ['runner', '--with-api-key'], runnerEnv);
    running.push(first);
    results.push({
      process: 'runner (enrolls)',
      build,
      readyMs: await until(first, 'runner (enrolling)', readyz),
      rssMb: await rssMb(first.proc.pid),
    });
    await stop(first);
    const runner = spawnPar(build, ['runner', '--with-api-key'], runnerEnv);
    running.push(runner);
    results.push({ process: 'runner', build, readyMs: await until(runner, 'runner', readyz), rssMb: await rssMb(runner.proc.pid) });

    const alive = join(dir.path, 'worker.alive');
    const worker = spawnPar(build, ['worker'], {
      REDIS_URL: TEST_REDIS_URL,
      PAR_QUEUE_PREFIX: `${base}:q`,
      DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
      ACTIONS_ALLOWLIST: 'com.datadoghq.http.request',
      PAR_SCRIPT_SANDBOX: 'none',
      PAR_WORKER_LIVENESS_FILE: alive,
      PAR_WORKER_LIVENESS_INTERVAL_MS: '1000',
    });
    running.push(worker);
    results.push({
      process: 'worker',
      build,
      readyMs: await until(worker, 'worker', () =>
        stat(alive).then(
          () => true,
          () => false,
        ),
      ),
      rssMb: await rssMb(worker.proc.pid),
    });
    return results;
  } finally {
    for (const s of running.reverse()) await stop(s);
    const redis = connectRedis();
    try {
      await deleteKeys(redis, base);
    } finally {
      redis.disconnect();
    }
    await dir.remove();
  }
}

/** Target for a process's cold start to ready, compiled (issue 11). */
export const COLD_START_TARGET_MS = 1_000;

/** The bench phase: each process's cold start to ready, compiled (dist/) and through tsx. */
export function coldStartPhase(): BenchPhase {
  return {
    name: 'cold start',
    timeoutMs: 240_000,
    async run(ctx) {
      assertCompiledBuild();
      const rows = [...(await measureColdStarts('compiled')), ...(await measureColdStarts('tsx'))];
      for (const r of rows) {
        const verdict =
          r.build === 'compiled' && r.process !== 'runner (enrolls)'
            ? r.readyMs <= COLD_START_TARGET_MS
              ? `ok (<= ${COLD_START_TARGET_MS} ms)`
              : `OVER ${COLD_START_TARGET_MS} ms TARGET`
            : '';
        ctx.rows.push({
          metric: `cold start ${r.process}, ${r.build}`,
          value: `${r.readyMs.toFixed(0)} ms`,
          note: `RSS when ready ${r.rssMb.toFixed(0)} MB${verdict ? `; ${verdict}` : ''}`,
        });
      }
    },
  };
}
