/**
 * What the script sandbox costs per run: N runs of `true` through the script bundle's process
 * runner, unboxed and in the bubblewrap box the worker would build here (the same argv, probe and
 * layout), sequentially, after a warm-up. Prints p50 / mean / p95 wall time per run and the
 * difference. `npm run bench:script-sandbox` (N from the first argument, default 50).
 */
import { tmpdir } from 'node:os';
import { prepareScriptSandbox } from '../../src/actions/script/sandbox-setup.js';
import { prepareLaunch } from '../../src/actions/script/sandbox-launch.js';
import { runProcess } from '../../src/actions/script/process-runner.js';
import type { ScriptSandbox } from '../../src/actions/script/sandbox.js';
import { SAFE_PATH } from '../../src/actions/script/environment.js';
import { createRootLogger } from '../../src/logging/logger.js';

const runs = Number(process.argv[2] ?? 50);
const logger = createRootLogger({ process: 'bench', level: 'warn' });

async function timeRuns(sandbox: ScriptSandbox): Promise<number[]> {
  const times: number[] = [];
  for (let i = -5; i < runs; i++) {
    const started = performance.now();
    const launch = await prepareLaunch(sandbox, { script: 'true', program: 'true', args: [], path: SAFE_PATH });
    const result = await runProcess({
      program: launch.program,
      args: launch.args,
      env: { PATH: SAFE_PATH },
      maxOutputBytes: 1024,
      signal: new AbortController().signal,
      statusFd: launch.statusFd,
      user: launch.user,
    });
    if (result.ended.kind !== 'exited' || result.ended.exitCode !== 0) throw new Error(`run failed: ${JSON.stringify(result.ended)}`);
    if (i >= 0) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

function summary(times: number[]): { p50: number; mean: number; p95: number } {
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { p50: at(0.5), mean: times.reduce((a, b) => a + b, 0) / times.length, p95: at(0.95) };
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const boxed = await prepareScriptSandbox({ mode: 'bwrap', configDir: tmpdir(), path: process.env['PATH'] }, logger);
const none = summary(await timeRuns({ kind: 'none' }));
const bwrap = summary(await timeRuns(boxed));
process.stdout.write(
  [
    `script start-up cost, ${runs} sequential runs of true (after 5 warm-up runs)`,
    `  none   p50 ${fmt(none.p50)}  mean ${fmt(none.mean)}  p95 ${fmt(none.p95)}`,
    `  bwrap  p50 ${fmt(bwrap.p50)}  mean ${fmt(bwrap.mean)}  p95 ${fmt(bwrap.p95)}  (user namespace: ${boxed.kind === 'bwrap' && boxed.userNamespace})`,
    `  bwrap adds ${fmt(bwrap.p50 - none.p50)} at p50, ${fmt(bwrap.mean - none.mean)} on average per run`,
    '',
  ].join('\n'),
);
