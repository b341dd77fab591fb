/**
 * Output of the admin commands: aligned plain-text tables for people, `--json` for scripts, and
 * one way to turn a failure into `par: CODE: message` with exit code 1.
 */
import type { Command } from 'commander';
import { loadCliConfig } from '../config/cli.js';
import { AdminClient } from './admin-client.js';
import { failStartup } from './process-lifecycle.js';

export type Cell = string | number | boolean | undefined | null;

export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) =>
    headers.map((_h, i) => {
      const v = r[i];
      return v === undefined || v === null || v === '' ? '-' : String(v);
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

export function formatTime(ms: number | undefined): string {
  return ms === undefined || ms === 0 ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Adds `--json` and `--base-url` to a sub-command. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print JSON instead of a table')
    .option('--base-url <url>', 'control plane URL (default PAR_CONTROL_PLANE_URL / DD_BASE_URL)');
}

/** Runs one admin command with a client from the environment; any failure ends the process. */
export async function runAdmin(opts: { baseUrl?: string }, body: (client: AdminClient) => Promise<void>): Promise<void> {
  try {
    await body(new AdminClient(loadCliConfig(process.env, { controlPlaneUrl: opts.baseUrl })));
  } catch (error) {
    failStartup(error);
  }
}
