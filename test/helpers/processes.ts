/**
 * Spawning the real `par` processes for end-to-end tests. Output is kept in memory (and shown
 * when a test fails through `describe()`), and every process is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JS module without types (scripts/ is not TypeScript)
import { isStale } from '../../scripts/build-state.js';

/**
 * The `par` command the tests spawn: the compiled build (dist/) when it is current — what operators
 * run, and it starts in a fraction of the time and memory — else the sources through tsx
 * (par-source.js), never a stale dist/. `npm test` builds first (`scripts/build.js --if-stale`);
 * PAR_TEST_FROM_SOURCE=1 forces the sources.
 */
export const PAR_BIN =
  process.env['PAR_TEST_FROM_SOURCE'] !== '1' && !isStale()
    ? fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))
    : fileURLToPath(new URL('./par-source.js', import.meta.url));

export interface ParProcess {
  name: string;
  proc: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/**
 * `env.PAR_TEST_NODE_ARGS` (tests and benches only, never passed on): node options the process is
 * started with, for the ones NODE_OPTIONS refuses (`--cpu-prof`).
 */
export function startPar(name: string, args: string[], env: Record<string, string>): ParProcess {
  const { PAR_TEST_NODE_ARGS: nodeArgs = '', ...childEnv } = env;
  const proc = spawn(process.execPath, [...nodeArgs.split(' ').filter((a) => a !== ''), PAR_BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PAR_LOG_LEVEL: 'info', ...childEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    for (const l of listeners) l();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  const waitForOutput = (pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = pattern.exec(out);
        if (m) {
          cleanup();
          resolve(m);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms; output:\n${out.slice(-4000)}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`${name} exited before printing ${pattern}; output:\n${out.slice(-4000)}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
        proc.off('exit', onExit);
      };
      const listener = (): void => {
        check();
      };
      if (check()) return;
      listeners.add(listener);
      proc.once('exit', onExit);
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | string> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    }
    return exited;
  };

  return { name, proc, output: () => out, exited, waitForOutput, stop };
}
