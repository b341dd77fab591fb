/**
 * The script bundle in the real bubblewrap box (`prepareScriptSandbox` as the worker calls it,
 * real bwrap, real processes): the behaviours scripts had before the box still hold inside it
 * (argv without a shell, scrubbed env, output cap, cancel kills everything, noFailOnError, signal
 * deaths, spawn failures), programs outside the visible paths are shown and nothing beside them,
 * a box that cannot be built is PAR_ERR_SCRIPT_SANDBOX_FAILED, PAR_SCRIPT_USER switches user, and
 * the worker process refuses to start when the sandbox it is asked for cannot be had.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { createScriptBundle } from '../../src/actions/script/bundle.js';
import type { ScriptSandbox } from '../../src/actions/script/sandbox.js';
import { prepareScriptSandbox } from '../../src/actions/script/sandbox-setup.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startPar } from '../helpers/processes.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const isRoot = process.getuid?.() === 0;

interface Output {
  executedCommand: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function liveProcessesWith(arg: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(arg) && !/^\d+ \(.*\) Z /.test(stat)) n++;
  }
  return n;
}

describe('script sandbox (real bwrap)', () => {
  let dir: { path: string; remove(): Promise<void> };
  let configDir: string;
  let sandbox: ScriptSandbox;
  const marker = `par-sbx-${randomBytes(6).toString('hex')}`;
  const parentEnv = { PATH: process.env['PATH'] ?? '', PAR_TEST_SBX_SECRET: 'sbx-w0rker-s3cret', PAR_TEST_SBX_ALLOWED: 'shown' };

  const ctx = (signal = new AbortController().signal): ActionContext => ({
    signal,
    configDir,
    logger,
    limits: { httpMaxResponseBytes: 1024 },
  });

  function actionsFor(box: ScriptSandbox, maxOutputBytes = 1024 * 1024): Map<string, RegisteredAction> {
    return new Map(createScriptBundle({ parentEnv, sandbox: box, maxOutputBytes }).actions.map((a) => [a.fqn, a]));
  }

  async function run(
    inputs: Record<string, unknown>,
    options: { box?: ScriptSandbox; signal?: AbortSignal; maxOutputBytes?: number } = {},
  ): Promise<Output> {
    const action = actionsFor(options.box ?? sandbox, options.maxOutputBytes).get('com.datadoghq.script.runPredefinedScript');
    assert.ok(action);
    return action.run(action.inputSchema.parse(inputs), ctx(options.signal)) as Promise<Output>;
  }

  async function fails(promise: Promise<unknown>, code: string, message?: RegExp): Promise<ParError> {
    const error = await promise.then(
      () => assert.fail(`expected ${code}`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ParError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return error;
  }

  before(async () => {
    dir = await tempDir('script-sandbox');
    configDir = join(dir.path, 'config');
    await mkdir(join(configDir, 'scripts'), { recursive: true });
    await mkdir(join(dir.path, 'tools'));
    await writeFile(join(configDir, 'credentials.yaml'), 'password: sbx-credential-s3cret\n');
    // A program outside every visible path, with a secret next to it that must stay hidden.
    await writeFile(join(dir.path, 'tools', 'hello.sh'), '#!/bin/sh\necho "hello from $0"; ls -a "$(dirname "$0")"\n', { mode: 0o755 });
    await writeFile(join(dir.path, 'tools', 'sibling-secret.txt'), 'not for scripts\n');
    await writeFile(join(dir.path, 'tools', 'not-executable.sh'), '#!/bin/sh\necho no\n', { mode: 0o644 });
    // A program inside the config dir: shown alone, the config dir around it stays empty.
    await writeFile(join(configDir, 'scripts', 'inside.sh'), '#!/bin/sh\nls -a "$1"; cat "$1/credentials.yaml"; exit 0\n', { mode: 0o755 });
    await writeFile(
      join(configDir, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          echo: { command: ['/bin/echo', '{{ parameters.text }}'] },
          env: { command: ['/usr/bin/env'], allowedEnvVars: ['PAR_TEST_SBX_ALLOWED'] },
          flood: { command: ['/usr/bin/yes', 'flood'] },
          exit3: { command: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'] },
          selfKill: { command: ['/bin/sh', '-c', 'kill -9 $$'] },
          tree: { command: ['/bin/sh', '-c', `setsid sh -c 'sleep 300; : ${marker}' </dev/null >/dev/null 2>&1 & sleep 300`] },
          missing: { command: ['/nonexistent/program'] },
          notExecutable: { command: [join(dir.path, 'tools', 'not-executable.sh')] },
          outside: { command: [join(dir.path, 'tools', 'hello.sh')] },
          inside: { command: [join(configDir, 'scripts', 'inside.sh'), configDir] },
          whoami: { command: ['/usr/bin/id', '-u'] },
          // Loopback only (test rule): can the script reach the Redis beside the worker?
          redis: {
            command: [
              process.execPath,
              '-e',
              "require('net').connect(6379, '127.0.0.1').on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })",
            ],
          },
        },
      }),
    );
    sandbox = await prepareScriptSandbox({ mode: 'bwrap', configDir, path: process.env['PATH'] }, logger);
  });
  after(async () => {
    await dir.remove();
  });

  it('mode bwrap gives a bwrap box', () => {
    assert.equal(sandbox.kind, 'bwrap');
  });

  it('parameters stay literal argv elements, no shell', async () => {
    const out = await run({ scriptName: 'echo', parameters: { text: '$(id); `id` && rm -rf / --ro-bind / /' } });
    assert.equal(out.stdout, '$(id); `id` && rm -rf / --ro-bind / /');
    assert.deepEqual(out.executedCommand, ['/bin/echo', '$(id); `id` && rm -rf / --ro-bind / /']);
  });

  it("the environment is the safe PATH, bwrap's PWD and allowedEnvVars only", async () => {
    const out = await run({ scriptName: 'env' });
    const names = out.stdout
      .split('\n')
      .map((l) => l.split('=')[0])
      .sort();
    assert.deepEqual(names, ['PAR_TEST_SBX_ALLOWED', 'PATH', 'PWD']);
    assert.doesNotMatch(out.stdout, /sbx-w0rker-s3cret/);
  });

  it('the output cap still kills the box', async () => {
    await fails(run({ scriptName: 'flood' }, { maxOutputBytes: 100_000 }), 'PAR_ERR_SCRIPT_OUTPUT_TOO_LARGE');
  });

  it('noFailOnError, exit codes and signal deaths are reported as before', async () => {
    await fails(run({ scriptName: 'exit3' }), 'PAR_ERR_SCRIPT_EXIT_NONZERO', /exit code 3; stderr: err/);
    const out = await run({ scriptName: 'exit3', noFailOnError: true });
    assert.deepEqual([out.exitCode, out.stdout, out.stderr], [3, 'out', 'err']);
    const killed = await run({ scriptName: 'selfKill', noFailOnError: true });
    assert.equal(killed.exitCode, 137);
  });

  it('cancel kills every process of the box, setsid ones included', async () => {
    const abort = new AbortController();
    const running = run({ scriptName: 'tree' }, { signal: abort.signal });
    await waitUntil(
      async () => ((await liveProcessesWith(`sleep 300; : ${marker}`)) > 0 ? true : undefined),
      15_000,
      'the setsid child',
      50,
    );
    abort.abort(new Error('cancelled by test'));
    await fails(running, 'PAR_ERR_TASK_CANCELLED');
    await waitUntil(
      async () => ((await liveProcessesWith(`sleep 300; : ${marker}`)) === 0 ? true : undefined),
      5_000,
      'the setsid child to die',
      50,
    );
  });

  it('a missing or non-executable program is a spawn failure, as without the box', async () => {
    await fails(run({ scriptName: 'missing' }), 'PAR_ERR_SCRIPT_SPAWN_FAILED', /program not found/);
    await fails(run({ scriptName: 'notExecutable' }), 'PAR_ERR_SCRIPT_SPAWN_FAILED', /program not executable/);
  });

  it('a program outside the visible paths is shown alone, not its directory', async () => {
    const out = await run({ scriptName: 'outside' });
    const [first, ...listing] = out.stdout.split('\n');
    assert.equal(first, `hello from ${join(dir.path, 'tools', 'hello.sh')}`);
    assert.deepEqual(
      listing.filter((l) => l !== '.' && l !== '..'),
      ['hello.sh'],
    );
  });

  it('a program inside the config dir runs, and sees none of the config dir', async () => {
    const out = await run({ scriptName: 'inside', noFailOnError: true });
    assert.deepEqual(
      out.stdout.split('\n').filter((l) => l !== '.' && l !== '..'),
      ['scripts'],
    );
    assert.match(out.stderr, /credentials\.yaml: No such file/);
    assert.doesNotMatch(out.stdout + out.stderr, /sbx-credential-s3cret/);
  });

  it("a box bwrap cannot build is PAR_ERR_SCRIPT_SANDBOX_FAILED with bwrap's reason", async () => {
    const extra = join(dir.path, 'extra');
    await mkdir(extra);
    const box = await prepareScriptSandbox({ mode: 'bwrap', configDir, binds: [extra], path: process.env['PATH'] }, logger);
    await rm(extra, { recursive: true });
    const e = await fails(
      run({ scriptName: 'echo', parameters: { text: 'x' } }, { box }),
      'PAR_ERR_SCRIPT_SANDBOX_FAILED',
      /bwrap: .*extra/,
    );
    assert.equal(e.retryable, false);
  });

  it('PAR_SCRIPT_USER runs scripts as that user, boxed or not (a non-root worker is refused)', async () => {
    for (const mode of ['bwrap', 'none'] as const) {
      const preparing = prepareScriptSandbox({ mode, user: '65534', configDir, path: process.env['PATH'] }, logger);
      if (!isRoot) {
        await assert.rejects(preparing, /PAR_SCRIPT_USER: .*needs the worker to run as root/);
        continue;
      }
      const box = await preparing;
      assert.equal(box.kind, mode);
      assert.equal((await run({ scriptName: 'whoami' }, { box })).stdout, '65534');
    }
  });

  it("PAR_SCRIPT_SANDBOX_NETWORK: host shares the worker's network, none leaves only the box's own loopback", async () => {
    assert.equal((await run({ scriptName: 'redis' })).stdout, 'connected');
    const isolated = await prepareScriptSandbox({ mode: 'bwrap', network: 'none', configDir, path: process.env['PATH'] }, logger);
    assert.equal((await run({ scriptName: 'redis' }, { box: isolated })).stdout, 'ECONNREFUSED');
    // No network isolation without the box: refused, not silently dropped.
    await assert.rejects(
      prepareScriptSandbox({ mode: 'none', network: 'none', configDir }, logger),
      /PAR_SCRIPT_SANDBOX_NETWORK: is "none", which needs the bwrap sandbox/,
    );
    await assert.rejects(
      prepareScriptSandbox({ mode: 'auto', network: 'none', configDir, path: '/nonexistent' }, logger),
      /PAR_SCRIPT_SANDBOX_NETWORK: .*no bwrap is on PATH/,
    );
  });

  it('start-up: bwrap asked for but missing or unusable fails naming the setting; auto falls back to none', async () => {
    await assert.rejects(
      prepareScriptSandbox({ mode: 'bwrap', configDir, path: '/nonexistent' }, logger),
      (e: unknown) =>
        e instanceof ParError &&
        e.code === 'PAR_ERR_CONFIG_INVALID' &&
        /PAR_SCRIPT_SANDBOX: is "bwrap" but no bwrap is on PATH/.test(e.message),
    );
    assert.equal((await prepareScriptSandbox({ mode: 'auto', configDir, path: '/nonexistent' }, logger)).kind, 'none');
    assert.equal((await prepareScriptSandbox({ mode: 'auto', configDir, path: process.env['PATH'] }, logger)).kind, 'bwrap');
    assert.equal((await prepareScriptSandbox({ mode: 'none', configDir, path: process.env['PATH'] }, logger)).kind, 'none');
    if (isRoot) {
      // A bind the script user cannot reach: bwrap fails in the probe, so at start-up.
      const locked = join(dir.path, 'locked');
      await mkdir(join(locked, 'inner'), { recursive: true });
      await chmod(locked, 0o700);
      await assert.rejects(
        prepareScriptSandbox(
          { mode: 'bwrap', user: '65534', binds: [join(locked, 'inner')], configDir, path: process.env['PATH'] },
          logger,
        ),
        (e: unknown) =>
          e instanceof ParError &&
          e.code === 'PAR_ERR_CONFIG_INVALID' &&
          /PAR_SCRIPT_SANDBOX .*bwrap cannot build the sandbox here: bwrap: /.test(e.message),
      );
      assert.equal(
        (
          await prepareScriptSandbox(
            { mode: 'auto', user: '65534', binds: [join(locked, 'inner')], configDir, path: process.env['PATH'] },
            logger,
          )
        ).kind,
        'none',
      );
    }
  });

  it('the worker process refuses to start on a sandbox setting it cannot honour, naming it', async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, DD_PRIVATE_RUNNER_CONFIG_DIR: configDir, PAR_IDENTITY_WAIT_MS: '1000' };
    const cases: [Record<string, string>, RegExp][] = [
      [{ PAR_SCRIPT_SANDBOX: 'bwrap', PATH: '/nonexistent' }, /PAR_SCRIPT_SANDBOX: is \\?"bwrap\\?" but no bwrap is on PATH/],
      [{ PAR_SCRIPT_SANDBOX: 'jail' }, /PAR_SCRIPT_SANDBOX/],
      [{ PAR_SCRIPT_USER: 'no-such-user-here' }, /PAR_SCRIPT_USER: no user/],
      [{ PAR_SCRIPT_SANDBOX_BIND: configDir }, /PAR_SCRIPT_SANDBOX_BIND: .*inside the config dir/],
    ];
    // Side by side: each is a whole process start, and they share nothing.
    await Promise.all(
      cases.map(async ([extra, expected]) => {
        const proc = startPar('worker-bad-sandbox', ['worker'], { ...env, ...extra });
        const code = await proc.exited;
        assert.notEqual(code, 0, `${JSON.stringify(extra)} started`);
        assert.match(proc.output(), expected);
        assert.doesNotMatch(proc.output(), /worker ready/);
      }),
    );
  });
});
