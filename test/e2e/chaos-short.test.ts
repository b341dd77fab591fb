/**
 * The short chaos suite inside `npm test` (≤ 60 s on an idle machine): one cluster on a private
 * redis-server with AOF, random SIGKILLs of workers, runner and control plane over 150 tasks,
 * Redis kill -9, a 5 s control-plane outage and SIGTERM of a worker mid-task. Nothing may be lost,
 * stranded or recorded twice. The full suite (crash points, 1,000 tasks, 60 s outage) is
 * `npm run chaos` (test/chaos/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killAllClustersNow } from '../chaos/cluster.js';
import { formatTable } from '../chaos/report.js';
import { rowFails, runProfile, shortProfile } from '../chaos/run.js';

// Should the runner give up on this file (timeout), no chaos process or private Redis outlives it.
process.once('exit', killAllClustersNow);

test(
  'short chaos: nothing lost, stuck or recorded twice under kills, a Redis crash, an outage and SIGTERM',
  { timeout: 240_000 },
  async () => {
    const lines: string[] = [];
    const rows = await runProfile(shortProfile(), (line) => lines.push(line));
    const table = formatTable(rows, 'short chaos');
    process.stdout.write(`${table}\n`);
    assert.equal(rows.length, shortProfile().scenarios.length);
    for (const row of rows) {
      assert.ok(row.tasks > 0, `${row.scenario}: ran tasks\n${table}\n${lines.join('\n')}`);
      assert.ok(row.faults > 0, `${row.scenario}: injected its faults\n${table}`);
    }
    assert.ok(!rows.some(rowFails), `${table}\n${lines.slice(-40).join('\n')}`);
  },
);
