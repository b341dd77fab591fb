/** The chaos suite's one table: a row per scenario, and the reasons a run fails under it. */
import { rowFails, type ScenarioRow } from './run.js';

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

export function formatTable(rows: readonly ScenarioRow[], title: string): string {
  const header = [
    'scenario',
    'tasks',
    'faults',
    'lost',
    'stuck',
    'recorded twice',
    'executed twice',
    'failed',
    'recovery',
    'drain',
    'verdict',
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.tasks),
    String(r.faults),
    String(r.lost),
    String(r.stuck),
    String(r.recordedTwice),
    String(r.executedTwice),
    r.failed === 0
      ? '0'
      : `${r.failed} (${Object.entries(r.failedCodes)
          .map(([c, n]) => `${c}: ${n}`)
          .join(', ')})`,
    seconds(r.recoveryMs),
    seconds(r.drainMs),
    r.notAvailable ? 'NOT AVAILABLE' : r.error ? 'ERROR' : rowFails(r) ? 'FAIL' : 'ok',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const out = [title, line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  for (const r of rows) {
    if (r.notAvailable) out.push(`!! ${r.scenario}: NOT AVAILABLE: ${r.notAvailable}`);
    if (r.error) out.push(`!! ${r.scenario}: ERROR: ${r.error}`);
    for (const n of r.notes) out.push(`   ${r.scenario}: ${n}`);
  }
  return out.join('\n');
}
