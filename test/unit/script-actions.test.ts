/**
 * The script bundle's actions run against real processes: a config file in a temp config dir,
 * small node / sh scripts as the commands.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { createScriptBundle, type ScriptBundleOptions } from '../../src/actions/script/bundle.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { tempDir } from '../helpers/tmp.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const NODE = process.execPath;

function isAlive(pid: number): Promise<boolean> {
  // A zombie (killed, not yet reaped by whoever inherited it) counts as gone.
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (stat) => !/^\d+ \(.*\) Z /.test(stat),
    () => false,
  );
}

async function waitGone(pid: number, timeoutMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe('com.datadoghq.script actions', () => {
  let dir: { path: string; remove(): Promise<void> };
  let actions: Map<string, RegisteredAction>;
  const parentEnv = { PATH: process.env['PATH'] ?? '', PAR_TEST_WORKER_SECRET: 'w0rker-s3cret', PAR_TEST_ALLOWED: 'visible-value' };

  const bundleWith = (options: ScriptBundleOptions) =>
    new Map(createScriptBundle({ parentEnv, ...options }).actions.map((a) => [a.fqn, a]));

  function ctx(overrides: Partial<ActionContext> = {}): ActionContext {
    return { signal: new AbortController().signal, configDir: dir.path, logger, limits: { httpMaxResponseBytes: 1024 }, ...overrides };
  }

  async function run(fqn: string, inputs: unknown, c: ActionContext = ctx(), from = actions): Promise<unknown> {
    const action = from.get(`com.datadoghq.script.${fqn}`);
    assert.ok(action, fqn);
    return action.run(action.inputSchema.parse(inputs), c);
  }

  async function fails(promise: Promise<unknown>, code: string, message?: RegExp): Promise<ParError> {
    let caught: unknown;
    await promise.then(
      () => assert.fail(`expected ${code}`),
      (e: unknown) => {
        caught = e;
      },
    );
    assert.ok(caught instanceof ParError, String(caught));
    assert.equal(caught.code, code, caught.message);
    if (message) assert.match(caught.message, message);
    return caught;
  }

  before(async () => {
    dir = await tempDir('script-actions');
    await writeFile(join(dir.path, 'argv.mjs'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    await writeFile(join(dir.path, 'env.mjs'), 'process.stdout.write(JSON.stringify(process.env));\n');
    await writeFile(
      join(dir.path, 'fail.mjs'),
      'process.stdout.write("partial\\n"); process.stderr.write("boom: disk full\\n"); process.exit(3);\n',
    );
    await writeFile(
      join(dir.path, 'flood.mjs'),
      'const chunk = "x".repeat(64 * 1024); setInterval(() => process.stdout.write(chunk), 1);\n',
    );
    await writeFile(
      join(dir.path, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          argv: {
            command: [NODE, join(dir.path, 'argv.mjs'), '--name={{ parameters.name }}', '{{ parameters.count }}'],
            parameterSchema: {
              type: 'object',
              properties: { name: { type: 'string', maxLength: 20 }, count: { type: 'integer', minimum: 0 } },
              required: ['name', 'count'],
              additionalProperties: false,
            },
          },
          echo: { command: ['echo', 'hello'] },
          env: { command: [NODE, join(dir.path, 'env.mjs')], allowedEnvVars: ['PAR_TEST_ALLOWED', 'NOT_SET_ANYWHERE'] },
          fail: { command: [NODE, join(dir.path, 'fail.mjs')] },
          flood: { command: [NODE, join(dir.path, 'flood.mjs')] },
          sleepy: { command: ['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', '{{ parameters.pidFile }}'] },
          background: { command: ['/bin/sh', '-c', 'sleep 30 & echo $!'] },
          missing: { command: ['/nonexistent/program'] },
          loose: {
            command: [
              NODE,
              join(dir.path, 'argv.mjs'),
              '{{ parameters.a }}',
              '{{ parameters.list.[1] }}',
              '{{ parameters }}',
              '{{ parameters.n }}',
              '{{ parameters.list.length }}',
            ],
          },
        },
        runPredefinedPowershellScript: {
          ps: { command: [join(dir.path, 'x.ps1'), '{{ parameters.a }}'] },
          psInline: { script: 'Write-Output "Hello {{ parameters.name }}"\r\n' },
        },
      }),
    );
    actions = bundleWith({});
  });
  after(async () => {
    await dir.remove();
  });

  it('runs a script without a shell and reports command, exit code, output and duration', async () => {
    const out = (await run('runPredefinedScript', { scriptName: 'argv', parameters: { name: 'a b', count: 2 } })) as Record<
      string,
      unknown
    >;
    assert.deepEqual(JSON.parse(out['stdout'] as string), ['--name=a b', '2']);
    assert.deepEqual(out['executedCommand'], [NODE, join(dir.path, 'argv.mjs'), '--name=a b', '2']);
    assert.equal(out['exitCode'], 0);
    assert.equal(out['stderr'], '');
    assert.equal(typeof out['durationMillis'], 'number');
  });

  it('finds bare program names on the safe PATH and strips one trailing newline unless asked not to', async () => {
    assert.equal(((await run('runPredefinedScript', { scriptName: 'echo' })) as { stdout: string }).stdout, 'hello');
    assert.equal(
      ((await run('runPredefinedScript', { scriptName: 'echo', noStripTrailingNewline: true })) as { stdout: string }).stdout,
      'hello\n',
    );
  });

  it('checks parameters against the JSON Schema, naming the field but not the value', async () => {
    await fails(
      run('runPredefinedScript', { scriptName: 'argv', parameters: { name: 'x', count: -1 } }),
      'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
      /parameters\.count: must be >= 0/,
    );
    const e = await fails(
      run('runPredefinedScript', { scriptName: 'argv', parameters: { name: 'this-value-is-way-too-long', count: 1 } }),
      'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
      /parameters\.name/,
    );
    assert.doesNotMatch(e.message, /way-too-long/);
    await fails(
      run('runPredefinedScript', { scriptName: 'argv', parameters: { name: 'x' } }),
      'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
      /count/,
    );
    // As the vendor: only properties and required count, so additionalProperties is not applied.
    const extra = (await run('runPredefinedScript', { scriptName: 'argv', parameters: { name: 'x', count: 1, extra: true } })) as {
      stdout: string;
    };
    assert.deepEqual(JSON.parse(extra.stdout), ['--name=x', '1']);
  });

  it('renders placeholders as the vendor: missing and null empty, objects as sorted JSON, plain decimals, no .length', async () => {
    const out = (await run('runPredefinedScript', { scriptName: 'loose', parameters: { list: ['a', 'b'], z: null, n: 1e21 } })) as {
      stdout: string;
    };
    assert.deepEqual(JSON.parse(out.stdout), ['', 'b', '{"list":["a","b"],"n":1e+21,"z":null}', '1000000000000000000000', '']);
  });

  it('timeout is in seconds: 0 or less means no script deadline', async () => {
    const action = actions.get('com.datadoghq.script.runPredefinedScript')!;
    for (const ok of [
      { scriptName: 'a', timeout: 0 },
      { scriptName: 'a', timeout: -5 },
      { scriptName: 'a', timeout: 30 },
    ]) {
      assert.equal(action.inputSchema.safeParse(ok).success, true, JSON.stringify(ok));
    }
    assert.equal(((await run('runPredefinedScript', { scriptName: 'echo', timeout: 0 })) as { stdout: string }).stdout, 'hello');
    assert.equal(((await run('runPredefinedScript', { scriptName: 'echo', timeout: 1 })) as { stdout: string }).stdout, 'hello');
  });

  it('validates its inputs', () => {
    const action = actions.get('com.datadoghq.script.runPredefinedScript')!;
    for (const bad of [
      {},
      { scriptName: '' },
      { scriptName: 'a', timeout: 1.5 },
      { scriptName: 'a', timeout: '5' },
      { scriptName: 'a', parameters: [1] },
      { scriptName: 'a', noFailOnError: 'yes' },
    ]) {
      assert.equal(action.inputSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('an undeclared script is a clear failure', async () => {
    const e = await fails(
      run('runPredefinedScript', { scriptName: 'rm' }),
      'PAR_ERR_SCRIPT_NOT_FOUND',
      /"rm" is not declared under runPredefinedScript in script-config\.yaml/,
    );
    assert.equal(e.retryable, false);
    await fails(run('runPredefinedScript', { scriptName: 'toString' }), 'PAR_ERR_SCRIPT_NOT_FOUND');
  });

  it('gives the script a scrubbed environment: a safe PATH plus allowedEnvVars only', async () => {
    const out = (await run('runPredefinedScript', { scriptName: 'env' })) as { stdout: string };
    assert.doesNotMatch(out.stdout, /w0rker-s3cret/);
    const env = JSON.parse(out.stdout) as Record<string, string>;
    assert.equal(env['PAR_TEST_ALLOWED'], 'visible-value');
    assert.equal(env['PAR_TEST_WORKER_SECRET'], undefined);
    assert.equal(env['PATH'], '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.deepEqual(
      Object.keys(env).filter((k) => !['PATH', 'PAR_TEST_ALLOWED'].includes(k)),
      [],
    );
  });

  it('a non-zero exit fails with the exit code and the stderr tail, unless noFailOnError', async () => {
    const e = await fails(
      run('runPredefinedScript', { scriptName: 'fail' }),
      'PAR_ERR_SCRIPT_EXIT_NONZERO',
      /exit code 3; stderr: boom: disk full/,
    );
    assert.equal(e.retryable, false);
    const out = (await run('runPredefinedScript', { scriptName: 'fail', noFailOnError: true })) as Record<string, unknown>;
    assert.equal(out['exitCode'], 3);
    assert.equal(out['stdout'], 'partial');
    assert.equal(out['stderr'], 'boom: disk full');
  });

  it('a program that cannot start is a non-retryable spawn failure', async () => {
    await fails(run('runPredefinedScript', { scriptName: 'missing' }), 'PAR_ERR_SCRIPT_SPAWN_FAILED', /program not found/);
  });

  it('the timeout kills the whole process group, grandchildren included', async () => {
    const pidFile = join(dir.path, 'sleepy.pid');
    const started = Date.now();
    await fails(
      run('runPredefinedScript', { scriptName: 'sleepy', parameters: { pidFile }, timeout: 1 }),
      'PAR_ERR_TASK_TIMEOUT',
      /script execution timed out after 1 seconds/,
    );
    assert.ok(Date.now() - started < 5_000);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    assert.ok(pid > 0);
    assert.equal(await waitGone(pid), true, `grandchild ${pid} still running`);
  });

  it('cancellation (the task signal) kills the process group too', async () => {
    const pidFile = join(dir.path, 'cancelled.pid');
    const controller = new AbortController();
    const running = run('runPredefinedScript', { scriptName: 'sleepy', parameters: { pidFile } }, ctx({ signal: controller.signal }));
    let pid = 0;
    for (let i = 0; i < 200 && pid === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || 0;
    }
    assert.ok(pid > 0, 'the script started its child');
    controller.abort('cancelled by test');
    await fails(running, 'PAR_ERR_TASK_CANCELLED');
    assert.equal(await waitGone(pid), true, `grandchild ${pid} still running`);
  });

  it('background processes a script leaves behind do not outlive it', async () => {
    const out = (await run('runPredefinedScript', { scriptName: 'background', timeout: 10 })) as { stdout: string; durationMillis: number };
    const pid = Number(out.stdout);
    assert.ok(pid > 0);
    assert.equal(await waitGone(pid), true);
    assert.ok(out.durationMillis < 5_000);
  });

  it('more output than the cap kills the script with a clear error', async () => {
    const small = bundleWith({ maxOutputBytes: 100_000 });
    const started = Date.now();
    const e = await fails(
      run('runPredefinedScript', { scriptName: 'flood' }, ctx(), small),
      'PAR_ERR_SCRIPT_OUTPUT_TOO_LARGE',
      /100000 bytes/,
    );
    assert.equal(e.retryable, false);
    assert.ok(Date.now() - started < 5_000);
  });

  it('PowerShell scripts fail clearly where pwsh is not installed', async () => {
    const noPwsh = bundleWith({ parentEnv: { PATH: join(dir.path, 'empty-bin') } });
    const safePathHasPwsh = await import('node:fs/promises').then((fs) =>
      fs.access('/usr/bin/pwsh').then(
        () => true,
        () => false,
      ),
    );
    if (safePathHasPwsh) return; // this machine has pwsh: the unavailable path cannot be shown here
    const e = await fails(
      run('runPredefinedPowershellScript', { scriptName: 'ps', parameters: { a: '1' } }, ctx(), noPwsh),
      'PAR_ERR_SCRIPT_PWSH_UNAVAILABLE',
    );
    assert.equal(e.retryable, false);
  });

  it('PowerShell scripts run through pwsh -File with literal arguments where pwsh exists', async () => {
    const bin = join(dir.path, 'fake-bin');
    await mkdir(bin, { recursive: true });
    // A stand-in pwsh that prints its argv, to check how the runner invokes it.
    await writeFile(join(bin, 'pwsh'), `#!${NODE}\nprocess.stdout.write(JSON.stringify(process.argv.slice(2)));\n`);
    await chmod(join(bin, 'pwsh'), 0o755);
    const withPwsh = bundleWith({ parentEnv: { PATH: bin } });
    const out = (await run(
      'runPredefinedPowershellScript',
      { scriptName: 'ps', parameters: { a: '$(Remove-Item C:\\)' } },
      ctx(),
      withPwsh,
    )) as { stdout: string; executedCommand: string[] };
    assert.deepEqual(JSON.parse(out.stdout), [
      '-NoLogo',
      '-NoProfile',
      '-NonInteractive',
      '-File',
      join(dir.path, 'x.ps1'),
      '$(Remove-Item C:\\)',
    ]);
    assert.equal(out.executedCommand[0], join(bin, 'pwsh'));
    // A PowerShell name is not a runPredefinedScript name.
    await fails(run('runPredefinedScript', { scriptName: 'ps' }, ctx(), withPwsh), 'PAR_ERR_SCRIPT_NOT_FOUND');
  });

  it('enrichScript answers in the vendor shape and filters by search, case-insensitively', async () => {
    const out = (await run('enrichScript', {})) as {
      options: Array<{ label: string; value: string; description: string }>;
      placeholder: string;
    };
    assert.equal(out.placeholder, 'Select a script');
    assert.deepEqual(
      out.options.map((o) => o.value),
      ['argv', 'background', 'echo', 'env', 'fail', 'flood', 'loose', 'missing', 'sleepy'],
    );
    assert.deepEqual(out.options[0], { label: 'argv', value: 'argv', description: '' });
    const found = (await run('enrichScript', { search: 'OO' })) as { options: Array<{ value: string }> };
    assert.deepEqual(
      found.options.map((o) => o.value),
      ['flood', 'loose'],
    );
    const none = (await run('enrichScript', { search: 'zzz' })) as { options: unknown[] };
    assert.deepEqual(none.options, []);
  });

  it('inline PowerShell binds parameters as quoted literals, never as code; output CRLF becomes LF, edge newlines go', async () => {
    const bin = join(dir.path, 'fake-bin-inline');
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, 'pwsh'),
      `#!${NODE}\nprocess.stdout.write('\\r\\n' + JSON.stringify(process.argv.slice(2)) + '\\r\\n\\r\\n');\n`,
    );
    await chmod(join(bin, 'pwsh'), 0o755);
    const withPwsh = bundleWith({ parentEnv: { PATH: bin } });
    const out = (await run(
      'runPredefinedPowershellScript',
      { scriptName: 'psInline', parameters: { name: "x'; Remove-Item C:\\ -Recurse; '" } },
      ctx(),
      withPwsh,
    )) as { stdout: string };
    const argv = JSON.parse(out.stdout) as string[];
    assert.deepEqual(argv.slice(0, 4), ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command']);
    assert.equal(argv[4], "$__par_name = 'x''; Remove-Item C:\\ -Recurse; '''\nWrite-Output \"Hello $__par_name\"\r\n");
    const kept = (await run(
      'runPredefinedPowershellScript',
      { scriptName: 'psInline', parameters: { name: 'a' }, noStripTrailingNewline: true },
      ctx(),
      withPwsh,
    )) as { stdout: string };
    assert.ok(kept.stdout.startsWith('\n[') && kept.stdout.endsWith(']\n\n'), JSON.stringify(kept.stdout));
  });

  it('testConnection reports a valid config, its unusable scripts, and an invalid config as an answer', async () => {
    const out = (await run('testConnection', {})) as Record<string, unknown>;
    assert.equal(out['valid'], true);
    assert.equal(out['scriptCount'], 9);
    assert.equal(out['powershellScriptCount'], 2);
    assert.deepEqual(out['unavailableScripts'], ['missing', 'ps', 'psInline']);
    assert.deepEqual(out['invalidScripts'], []);
    const other = bundleWith({ configFile: 'nope.yaml' });
    const bad = (await run('testConnection', {}, ctx(), other)) as { valid: boolean; error: { code: string; message: string } };
    assert.equal(bad.valid, false);
    assert.equal(bad.error.code, 'PAR_ERR_SCRIPT_CONFIG_INVALID');
    assert.match(bad.error.message, /nope\.yaml: no such file/);
    await fails(run('enrichScript', {}, ctx(), other), 'PAR_ERR_SCRIPT_CONFIG_INVALID', /nope\.yaml/);
  });
});
