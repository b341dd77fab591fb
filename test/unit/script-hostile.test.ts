/**
 * Hostile parameter values go through real scripts and come out as the literal argv element they
 * were given: nothing is interpreted by a shell, by the template engine, or as a flag of ours.
 * Each value also tries a side effect (creating a marker file) that must never happen.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { createScriptBundle } from '../../src/actions/script/bundle.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { tempDir } from '../helpers/tmp.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });

describe('script parameters: hostile corpus', () => {
  let dir: { path: string; remove(): Promise<void> };
  let sandbox: string;
  let run: (scriptName: string, value: unknown) => Promise<{ stdout: string; exitCode: number }>;
  let action: RegisteredAction;

  const marker = () => join(sandbox, 'PWNED');
  const corpus = (): string[] => [
    `; touch ${marker()}`,
    `$(touch ${marker()})`,
    `\`touch ${marker()}\``,
    `x\ntouch ${marker()}\n`,
    `| touch ${marker()}`,
    `&& touch ${marker()}`,
    `> ${marker()}`,
    `'; touch ${marker()}; echo '`,
    `"; touch ${marker()}; echo "`,
    `; rm -rf ${sandbox}`,
    '--flag=1',
    '-rf',
    '--help',
    '-',
    '--',
    '../../../../../../etc/passwd',
    '/etc/shadow',
    '{{ parameters.other }}',
    '{{ parameters.value }}',
    '$HOME ${PATH} %PATH% $1 $@',
    '*',
    '~',
    '\\\'"\\"',
    'line1\r\nline2\r\n',
    '%s%s%n%x',
    'émoji 🚀 ünïcode \u202e',
    '',
    ' ',
    'A'.repeat(100_000),
  ];

  before(async () => {
    dir = await tempDir('script-hostile');
    sandbox = join(dir.path, 'sandbox');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(sandbox);
    await writeFile(join(sandbox, 'keep'), 'must survive');
    await writeFile(join(dir.path, 'argv.mjs'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    await writeFile(
      join(dir.path, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          // The value as a whole argv element, printed back as JSON.
          node: { command: [process.execPath, join(dir.path, 'argv.mjs'), '{{ parameters.value }}'] },
          // Embedded in a larger element.
          embedded: { command: [process.execPath, join(dir.path, 'argv.mjs'), 'pre-{{ parameters.value }}-post'] },
          // Even a shell, given the value as a positional argument, only prints it.
          sh: { command: ['/bin/sh', '-c', 'printf %s "$1"', 'sh', '{{ parameters.value }}'] },
        },
      }),
    );
    action = createScriptBundle({ parentEnv: { PATH: process.env['PATH'] ?? '' } }).actions.find(
      (a) => a.fqn === 'com.datadoghq.script.runPredefinedScript',
    )!;
    const ctx: ActionContext = { signal: new AbortController().signal, configDir: dir.path, logger, limits: { httpMaxResponseBytes: 1 } };
    run = async (scriptName, value) =>
      action.run(
        action.inputSchema.parse({ scriptName, parameters: { value, other: 'INJECTED' }, noStripTrailingNewline: true }),
        ctx,
      ) as Promise<{ stdout: string; exitCode: number }>;
  });
  after(async () => {
    await dir.remove();
  });

  it('every value reaches the program as exactly one literal argument', async () => {
    for (const value of corpus()) {
      const label = JSON.stringify(value.slice(0, 60));
      assert.deepEqual(JSON.parse((await run('node', value)).stdout), [value], label);
      assert.deepEqual(JSON.parse((await run('embedded', value)).stdout), [`pre-${value}-post`], label);
      assert.equal((await run('sh', value)).stdout, value, label);
    }
  });

  it('no value had a side effect', async () => {
    await assert.rejects(access(marker()), { code: 'ENOENT' });
    assert.deepEqual(await readdir(sandbox), ['keep']);
  });

  it('non-string values are passed as their JSON text', async () => {
    assert.deepEqual(JSON.parse((await run('node', { $: '$(id)', n: [1, 2] })).stdout), ['{"$":"$(id)","n":[1,2]}']);
    assert.deepEqual(JSON.parse((await run('node', 42)).stdout), ['42']);
  });

  it('values the kernel would cut or refuse are rejected, not truncated', async () => {
    for (const value of ['before\0after', 'B'.repeat(200_000)]) {
      await assert.rejects(
        run('node', value),
        (e: unknown) =>
          e instanceof ParError &&
          e.code === 'PAR_ERR_SCRIPT_PARAMETERS_INVALID' &&
          !e.message.includes('BBBB') &&
          !e.message.includes('after'),
      );
    }
  });
});
