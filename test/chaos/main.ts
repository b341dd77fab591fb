/**
 * `npm run chaos [-- --runs N --outage-ms MS --tasks N --kills N]`: the chaos suite (not part of
 * `npm test`). Loopback only; a private redis-server per cluster. Prints one table per run and
 * exits non-zero when any scenario lost, stranded or double-recorded a task, or could not run.
 * Every child process and private Redis is killed on exit, also on SIGINT / SIGTERM.
 */
import { parseArgs } from 'node:util';
import { killAllClustersNow } from './cluster.js';
import { formatTable } from './report.js';
import { fullProfile, rowFails, runProfile, shortProfile } from './run.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    'outage-ms': { type: 'string' },
    tasks: { type: 'string' },
    kills: { type: 'string' },
    short: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

const positive = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, got ${v}\n`);
    process.exit(2);
  }
  return n;
};

const runs = positive('runs', values.runs) ?? 1;
const outageMs = positive('outage-ms', values['outage-ms']);
const tasks = positive('tasks', values.tasks);
const kills = positive('kills', values.kills);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: killing every chaos process and private Redis\n`);
    killAllClustersNow();
    process.exit(130);
  });
}
process.once('exit', () => killAllClustersNow());

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

let failedRuns = 0;
const tables: string[] = [];
for (let run = 1; run <= runs; run++) {
  const profile = values.short
    ? shortProfile()
    : fullProfile({ ...(outageMs ? { outageMs } : {}), ...(tasks ? { tasks } : {}), ...(kills ? { kills } : {}) });
  if (values.only !== undefined) {
    const wanted = values.only.split(',');
    profile.scenarios = profile.scenarios.filter((s) => wanted.includes(s.id));
    if (profile.scenarios.length === 0) {
      process.stderr.write(`--only ${values.only}: no such scenario\n`);
      process.exit(2);
    }
  }
  const started = Date.now();
  const rows = await runProfile(profile, log);
  const failed = rows.some(rowFails);
  if (failed) failedRuns++;
  const table = formatTable(
    rows,
    `chaos run ${run}/${runs} (${profile.name}, ${((Date.now() - started) / 1000).toFixed(0)} s): ${failed ? 'FAILED' : 'passed'}`,
  );
  tables.push(table);
  process.stdout.write(`${table}\n\n`);
}
if (runs > 1) process.stdout.write(`${runs - failedRuns} of ${runs} runs passed\n`);
process.exit(failedRuns > 0 ? 1 : 0);
