#!/usr/bin/env node
// `npm test`'s static checks, run side by side instead of one after another: the type check, the
// layering rules, unused files and exports, ESLint and Prettier (each is the npm script of the
// same name, so `npm run lint` alone checks exactly what `npm test` checks). Two at a time (one per
// core here), the longest first, so the checks take about as long as ESLint alone. Each one's
// output is held and printed when it ends, so failures never interleave; every check runs even
// after one fails, and the exit status is 1 when any failed.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { clearTimeout, setTimeout } from 'node:timers';

/** npm scripts, longest first (ESLint's typed rules take about half of the total alone). */
const CHECKS = ['lint', 'typecheck', 'format:check', 'lint:deps', 'lint:unused'];
/** A check that has not finished by then is killed and reported (the runner never hangs). */
const CHECK_TIMEOUT_MS = 300_000;

function run(script) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '-s', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => {
      output += `\n${script}: no result within ${CHECK_TIMEOUT_MS / 1000} s; killed\n`;
      child.kill('SIGKILL');
    }, CHECK_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ok = code === 0;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`check: npm run ${script}: ${ok ? 'ok' : `FAILED (${code ?? signal})`} in ${seconds} s\n`);
      if (!ok) process.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
      resolve(ok);
    });
  });
}

const queue = [...CHECKS];
let failed = 0;
async function lane() {
  for (let script = queue.shift(); script !== undefined; script = queue.shift()) {
    if (!(await run(script))) failed += 1;
  }
}
await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, lane));
if (failed > 0) {
  process.stdout.write(`check: ${failed} of ${CHECKS.length} static checks failed\n`);
  process.exit(1);
}
