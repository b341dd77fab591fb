/**
 * `par audit tail [-n N] [--follow] [--json]` and `par audit verify [--trust-key k]`: the runner's
 * local audit trail, read from its directory (`--dir`, else PAR_AUDIT_DIR, else
 * `<config dir>/audit`). Verify trusts checkpoints signed by the identity in the config dir's
 * config.yaml (or PAR_RUNNER_IDENTITY) and by every `--trust-key` (a JWK file or a raw `x`); it
 * exits 1 naming the first bad entry.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ParError } from '../errors/par-error.js';
import { followLines, lastLines } from '../runner/audit/reader.js';
import { verifyAuditDir, type VerifyReport } from '../runner/audit/verify.js';
import { readIdentity } from '../lib/identity-file.js';

export interface AuditCliSettings {
  configDir: string;
  auditDir?: string;
  runnerIdentity?: string;
}

type DirOpts = { dir?: string; json?: boolean };

export function registerAuditCommands(program: Command, settings: () => AuditCliSettings): void {
  const audit = program.command('audit').description("the runner's local audit trail (accepted and refused tasks, outcomes)");
  const dirOf = (opts: DirOpts): string => opts.dir ?? settings().auditDir ?? join(settings().configDir, 'audit');

  audit
    .command('tail')
    .description('the last entries, oldest first')
    .option('--dir <dir>', 'the audit directory (default: PAR_AUDIT_DIR, else <config dir>/audit)')
    .option('-n, --lines <n>', 'how many entries', '20')
    .option('-f, --follow', 'keep printing entries as they are appended (Ctrl-C stops)')
    .option('--json', 'print the stored JSON lines')
    .action(async (opts: DirOpts & { lines: string; follow?: boolean }) => {
      await run(async () => {
        const n = Number(opts.lines);
        if (!Number.isInteger(n) || n < 0) throw new ParError('PAR_ERR_REQUEST_INVALID', '-n: a non-negative integer');
        const dir = dirOf(opts);
        const show = (line: string): void => {
          process.stdout.write(`${opts.json ? line : formatEntry(line)}\n`);
        };
        for (const line of await lastLines(dir, n)) show(line);
        if (opts.follow) {
          const abort = new AbortController();
          for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
          await followLines(dir, show, abort.signal);
        }
      });
    });

  audit
    .command('verify')
    .description('check the whole chain, every checkpoint signature and the signed head; exit 1 naming the first bad entry')
    .option('--dir <dir>', 'the audit directory (default: PAR_AUDIT_DIR, else <config dir>/audit)')
    .option(
      '--trust-key <key>',
      'also trust checkpoints signed by this key: a public JWK file, or its base64url x (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: DirOpts & { trustKey: string[] }) => {
      await run(async () => {
        const s = settings();
        const keys = await Promise.all(opts.trustKey.map(readTrustKey));
        const identity = await readIdentity(s.configDir, s.runnerIdentity).catch(() => undefined);
        if (identity?.publicKey && typeof identity.publicKey['x'] === 'string') keys.push(identity.publicKey['x']);
        if (keys.length === 0)
          throw new ParError(
            'PAR_ERR_REQUEST_INVALID',
            'no key to check checkpoints with: no config.yaml in the config dir; give --trust-key',
          );
        const report = await verifyAuditDir(dirOf(opts), keys);
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
        if (!report.ok) process.exitCode = 1;
      });
    });
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const e = error as { code?: unknown; message?: unknown };
    process.stderr.write(`par: ${typeof e.code === 'string' ? `${e.code}: ` : ''}${String(e.message ?? error)}\n`);
    process.exitCode = 2;
  }
}

async function readTrustKey(value: string): Promise<string> {
  if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  let jwk: unknown;
  try {
    jwk = JSON.parse(await readFile(value, 'utf8'));
  } catch (error) {
    throw new ParError(
      'PAR_ERR_REQUEST_INVALID',
      `--trust-key ${value}: neither a base64url Ed25519 key nor a readable JWK file (${(error as Error).message})`,
    );
  }
  const x = (jwk as { x?: unknown }).x;
  if (typeof x !== 'string') throw new ParError('PAR_ERR_REQUEST_INVALID', `--trust-key ${value}: the JWK has no x`);
  return x;
}

export function formatReport(r: VerifyReport): string {
  const summary = `${r.entries} entries in ${r.files.length} file(s), ${r.checkpoints} signed checkpoint(s)`;
  if (!r.ok) {
    const p = r.problem;
    if (p === undefined) throw new Error('audit verify: a failed report names no problem');
    const where = [p.file, p.line !== undefined ? `line ${p.line}` : undefined, p.seq !== undefined ? `seq ${p.seq}` : undefined]
      .filter(Boolean)
      .join(' ');
    return `FAILED at ${where}: ${p.reason}\n(${summary} verified before it)`;
  }
  const notes = [
    r.unsignedTail > 0 ? `${r.unsignedTail} entries after the last checkpoint (chained, not yet signed)` : undefined,
    r.tornTailBytes ? `a torn last line of ${r.tornTailBytes} bytes (a crash during an append; dropped at the next start)` : undefined,
  ].filter(Boolean);
  return `OK: ${summary}${notes.length ? `\n${notes.join('\n')}` : ''}`;
}

function formatEntry(line: string): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `(unreadable) ${line}`;
  }
  const at = typeof e['ts'] === 'number' ? new Date(e['ts']).toISOString() : '?';
  const head = `${at} #${String(e['seq'])} ${String(e['type'])}`;
  const pick = (keys: string[]): string =>
    keys
      .filter((k) => e[k] !== undefined)
      .map((k) => `${k}=${String(e[k])}`)
      .join(' ');
  switch (e['type']) {
    case 'verdict':
      return `${head} ${String(e['verdict'])} ${pick(['code', 'taskId', 'action', 'connectionId', 'submittedBy', 'keyId', 'attempt', 'claimsVerified'])}`;
    case 'outcome':
      return `${head} ${String(e['outcome'])} ${pick(['code', 'taskId', 'published', 'publishCode', 'attempts', 'durationMs'])}`;
    case 'checkpoint':
      return `${head} ${pick(['reason', 'kid'])} hash=${String(e['hash'])}`;
    default:
      return `${head} ${pick(['file', 'runnerId'])}`;
  }
}
