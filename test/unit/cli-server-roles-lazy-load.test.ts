/**
 * The long-running roles (`par control-plane`, `par runner`, `par worker`, `par start`) do not
 * load the client commands (tasks, runners, keys, key rotation, audit, healthcheck) nor the HTTP
 * client behind them: checked in fresh node processes whose module resolution refuses those
 * modules. Any other command line registers them all.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

const hook =
  "export async function resolve(specifier, context, next) { if (specifier === './client-commands.js' || specifier === 'undici') throw new Error('client commands blocked: ' + specifier); return next(specifier, context); }";

const script = (args: string[], block: boolean): string => `
import { register } from 'node:module';
${block ? `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));` : ''}
process.argv = [process.argv[0], 'par', ...${JSON.stringify(args)}];
await import('./src/cli/main.ts');
`;

async function par(args: string[], block: boolean): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script(args, block)],
      { cwd: root, timeout: 60_000, env: { PATH: process.env['PATH'] ?? '' } },
    );
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('client commands loading', () => {
  for (const role of ['control-plane', 'runner', 'worker', 'start']) {
    it(`\`par ${role} --help\` works without the client commands' modules`, async () => {
      const r = await par([role, '--help'], true);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`Usage: par ${role}`));
    });
  }

  it("a role's own subcommand (`par control-plane rotate-signing-key`) is a client command line: registered, and needs those modules", async () => {
    const r = await par(['control-plane', 'rotate-signing-key', '--help'], false);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Usage: par control-plane rotate-signing-key/);
    assert.match(r.out, /--json/);
    const blocked = await par(['control-plane', 'rotate-signing-key', '--help'], true);
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.out, /client commands blocked/);
  });

  it('`par --help` lists the client commands, and needs their modules', async () => {
    const r = await par(['--help'], false);
    assert.equal(r.code, 0, r.out);
    for (const command of ['healthcheck', 'tasks', 'keys', 'audit']) assert.match(r.out, new RegExp(`\\n\\s+${command}\\b`));
    const blocked = await par(['--help'], true);
    assert.notEqual(blocked.code, 0);
    assert.match(blocked.out, /client commands blocked/);
  });
});
