/**
 * Hostile corpus, family "scripts in a box" (issue 7): tasks through the real processes (control
 * plane, runner, worker) run scripts an attacker would like to have — `cat` of any file the task
 * names, a shell that spawns `setsid` children, `kill`, writes — against a worker that holds the
 * secrets the issue found exposed: DD_API_KEY / DD_APP_KEY in its environment, the runner's private
 * key in config.yaml, a credential file in the config dir. The worker runs scripts in the bubblewrap
 * box (PAR_SCRIPT_SANDBOX=bwrap, so a missing bwrap fails the suite instead of skipping it).
 *
 * Each case asserts the code or output, that the host file system saw no change, and that no
 * secret is in the result; the closing case checks every log and Redis key and that every process
 * is healthy (assertNothingLeaked).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { startSystem, type System } from '../helpers/system.js';
import { waitUntil } from '../helpers/wait.js';
import type { ParProcess } from '../helpers/processes.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const BUNDLE = 'com.datadoghq.script';
const RUN = `${BUNDLE}.runPredefinedScript`;

interface ScriptOutput {
  executedCommand: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Host pids running `sh -c 'sleep 300; : <tag>'` (a process the box should have killed). */
async function processesWith(tag: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // A zombie (dead, not yet reaped) no longer runs: it does not count.
    if (cmdline.split('\0').includes(`sleep 300; : ${tag}`) && !/^\d+ \(.*\) Z /.test(stat)) found.push(Number(entry));
  }
  return found;
}

describe('security: scripts run in a box', () => {
  let system: System;
  let worker: ParProcess;
  let secrets: string[];
  let privateKeyD: string;
  const apiKey = `wk-api-${randomBytes(12).toString('hex')}`;
  const appKey = `wk-app-${randomBytes(12).toString('hex')}`;
  const workerOnly = `wk-env-${randomBytes(12).toString('hex')}`;
  const credentialSecret = `cred-${randomBytes(12).toString('hex')}`;
  const marker = `par-box-${randomBytes(6).toString('hex')}`;
  let identityBefore: string;

  before(async () => {
    system = await startSystem({ allowlist: `${BUNDLE}.*`, workers: 0 });
    // The setup: a worker started with the keys (and another secret) in its environment.
    // The hardened setting: scripts get no network (so not the Redis beside the worker either).
    worker = system.startWorker({
      PAR_SCRIPT_SANDBOX: 'bwrap',
      PAR_SCRIPT_SANDBOX_NETWORK: 'none',
      DD_API_KEY: apiKey,
      DD_APP_KEY: appKey,
      PAR_TEST_WORKER_ONLY_SECRET: workerOnly,
    });
    await worker.waitForOutput(/scripts run in a bubblewrap sandbox/, 30_000);
    await worker.waitForOutput(/worker ready/, 30_000);

    const identity = await readIdentity(system.configDir);
    const d = identity?.privateKey['d'];
    assert.ok(typeof d === 'string' && d.length > 20, 'the runner wrote its identity with a private key');
    privateKeyD = d;
    identityBefore = await readFile(join(system.configDir, 'config.yaml'), 'utf8');
    await mkdir(join(system.configDir, 'credentials'));
    await writeFile(join(system.configDir, 'credentials', 'db-password'), `${credentialSecret}\n`, { mode: 0o600 });
    secrets = [apiKey, appKey, workerOnly, credentialSecret, privateKeyD].flatMap((s) => secretForms(s));

    const sh = (body: string, ...args: string[]) => ({ command: ['/bin/sh', '-c', body, 'sh', ...args] });
    await writeFile(
      join(system.configDir, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          // What the issue configured: a file name straight from the task.
          cat: { command: ['/bin/cat', '--', '{{ parameters.file }}'] },
          list: { command: ['/bin/ls', '-a', '--', '{{ parameters.dir }}'] },
          // An operator who lists the worker's secrets still does not hand them over (the worker-only
          // secret is not listed: only listed variables pass).
          env: {
            command: ['/usr/bin/env'],
            allowedEnvVars: ['DD_API_KEY', 'DD_APP_KEY', 'REDIS_URL', 'PAR_REDIS_URL', 'PAR_RUNNER_IDENTITY', 'HOME'],
          },
          parentEnviron: sh('cat /proc/$PPID/environ; echo; cat /proc/1/environ; echo; cat /proc/self/environ'),
          write: sh('echo pwned > "$1"', '{{ parameters.file }}'),
          kill: { command: ['/bin/kill', '-9', '{{ parameters.pid }}'] },
          redis: {
            command: [
              process.execPath,
              '-e',
              "require('net').connect(6379, '127.0.0.1').on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })",
            ],
          },
          processes: sh('ls /proc | grep -c "^[0-9]"; ls /'),
          setsidChild: sh(`setsid sh -c 'sleep 300; : ${marker}-setsid' </dev/null >/dev/null 2>&1 & echo started; sleep 300`),
          daemon: sh(`(sh -c 'sleep 300; : ${marker}-daemon' </dev/null >/dev/null 2>&1 &); sleep 3; echo parent-exits`),
        },
      }),
    );
  });

  after(async () => {
    await system.stop();
  });

  async function run(scriptName: string, parameters: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TaskView> {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: RUN,
      inputs: { scriptName, parameters, ...extra },
      timeoutMs: 20_000,
    });
    const done = await system.api.waitForTask(task.id, 40_000);
    assertNoSecretIn(done, secrets, `task ${scriptName}`);
    return done;
  }

  async function output(scriptName: string, parameters: Record<string, unknown> = {}): Promise<ScriptOutput> {
    const done = await run(scriptName, parameters, { noFailOnError: true });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    return done.outcome?.output as ScriptOutput;
  }

  test('the attack has a target: the worker process really holds the keys (host view)', async () => {
    const environ = await readFile(`/proc/${worker.proc.pid}/environ`, 'utf8');
    assert.ok(environ.includes(apiKey) && environ.includes(appKey), 'the worker was started with the keys');
    // ...and warned that it should not have been.
    assert.match(worker.output(), /removed from the worker environment/);
  });

  test('cat /proc/<worker pid>/environ: no such process in the box', async () => {
    const out = await output('cat', { file: `/proc/${worker.proc.pid}/environ` });
    assert.notEqual(out.exitCode, 0);
    assert.match(out.stderr, /No such file or directory/);
    assert.equal(out.stdout, '');
  });

  test('cat /proc/$PPID/environ, /proc/1/environ, /proc/self/environ: only the script environment', async () => {
    const out = await output('parentEnviron');
    assert.equal(out.exitCode, 0, out.stderr);
    const vars = out.stdout.split(/[\0\n]/).filter((v) => v.length > 0);
    assert.ok(vars.length > 0, 'something was read');
    // PATH, and the PWD bwrap sets for --chdir: nothing of the worker's environment.
    for (const v of vars) assert.match(v, /^(PATH|PWD)=/, `unexpected variable ${v.split('=')[0]}`);
  });

  test('the runner identity (config.yaml with the private key) cannot be read', async () => {
    const done = await run('cat', { file: join(system.configDir, 'config.yaml') });
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_SCRIPT_EXIT_NONZERO');
    assert.match(done.outcome.error.message, /No such file or directory/);
  });

  test('credential files in the config dir cannot be read', async () => {
    const out = await output('cat', { file: join(system.configDir, 'credentials', 'db-password') });
    assert.notEqual(out.exitCode, 0);
    assert.match(out.stderr, /No such file or directory/);
  });

  test('../ traversal from the working directory does not reach the config dir', async () => {
    const out = await output('cat', { file: `../../../../../..${join(system.configDir, 'config.yaml')}` });
    assert.notEqual(out.exitCode, 0);
    assert.match(out.stderr, /No such file or directory/);
    const etc = await output('cat', { file: '../../../etc/shadow' });
    assert.notEqual(etc.exitCode, 0);
    assert.match(etc.stderr, /No such file or directory/);
  });

  test('the config dir cannot be listed, and / shows only the box', async () => {
    const out = await output('list', { dir: system.configDir });
    assert.notEqual(out.exitCode, 0);
    assert.doesNotMatch(out.stdout, /config\.yaml|credentials|script-config/);
    const root = await output('list', { dir: '/' });
    assert.equal(root.exitCode, 0, root.stderr);
    const entries = root.stdout.split('\n');
    for (const hidden of ['home', 'root', 'work', 'var', 'opt']) assert.ok(!entries.includes(hidden), `/${hidden} is visible in the box`);
    assert.ok(entries.includes('usr') && entries.includes('tmp') && entries.includes('proc'));
  });

  test('writing into the config dir is refused and the host files are unchanged', async () => {
    const identityFile = join(system.configDir, 'config.yaml');
    const over = await output('write', { file: identityFile });
    assert.notEqual(over.exitCode, 0);
    const fresh = await output('write', { file: join(system.configDir, 'planted.yaml') });
    assert.notEqual(fresh.exitCode, 0);
    assert.equal(await readFile(identityFile, 'utf8'), identityBefore);
    assert.ok(!(await readdir(system.configDir)).includes('planted.yaml'));
  });

  test('env shows no DD_* key, Redis URL or worker secret, even when allowedEnvVars names them', async () => {
    const out = await output('env');
    assert.equal(out.exitCode, 0, out.stderr);
    assert.doesNotMatch(out.stdout, /^(DD_|REDIS_URL|PAR_REDIS|PAR_TEST_WORKER_ONLY)/m);
    assert.match(out.stdout, /^PATH=/m);
    assert.match(out.stdout, /^HOME=/m, 'a listed, harmless variable still passes');
  });

  test('kill -9 of the worker pid from inside fails, and the worker lives on', async () => {
    const pid = worker.proc.pid;
    assert.ok(pid);
    const out = await output('kill', { pid: String(pid) });
    assert.notEqual(out.exitCode, 0);
    assert.match(out.stderr, /No such process/);
    assert.equal(worker.proc.exitCode, null);
    process.kill(pid, 0);
  });

  test("with PAR_SCRIPT_SANDBOX_NETWORK=none the worker's Redis on loopback is out of reach", async () => {
    const out = await output('redis');
    assert.equal(out.stdout, 'ECONNREFUSED');
  });

  test('the box has its own PID namespace: a handful of processes, no host ones', async () => {
    const out = await output('processes');
    assert.equal(out.exitCode, 0, out.stderr);
    const count = Number(out.stdout.split('\n')[0]);
    assert.ok(count >= 1 && count <= 6, `${count} processes visible in the box`);
  });

  test('a setsid grandchild is killed with its script on timeout', async () => {
    const tag = `${marker}-setsid`;
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: RUN,
      inputs: { scriptName: 'setsidChild', timeout: 4_000 },
      timeoutMs: 20_000,
    });
    // It exists while the script runs (so the check below can fail)...
    await waitUntil(async () => ((await processesWith(tag)).length > 0 ? true : undefined), 15_000, 'the setsid child to start', 50);
    const done = await system.api.waitForTask(task.id, 30_000);
    assertNoSecretIn(done, secrets, 'setsid task');
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_TASK_TIMEOUT');
    // ...and is gone once the timeout killed the box, although it left the process group.
    await waitUntil(async () => ((await processesWith(tag)).length === 0 ? true : undefined), 5_000, 'the setsid child to die', 50);
  });

  test('a double-forked daemon dies when its script exits', async () => {
    const tag = `${marker}-daemon`;
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: RUN,
      inputs: { scriptName: 'daemon' },
      timeoutMs: 20_000,
    });
    await waitUntil(async () => ((await processesWith(tag)).length > 0 ? true : undefined), 15_000, 'the daemon to start', 50);
    const done = await system.api.waitForTask(task.id, 30_000);
    assertNoSecretIn(done, secrets, 'daemon task');
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal((done.outcome?.output as ScriptOutput).stdout, 'parent-exits');
    await waitUntil(async () => ((await processesWith(tag)).length === 0 ? true : undefined), 5_000, 'the daemon to die', 50);
  });

  test('nothing leaked into logs or Redis, every process is healthy', async () => {
    await assertNothingLeaked(system, secrets);
    // The credential file and identity were read by nobody: still as written.
    assert.equal((await readFile(join(system.configDir, 'credentials', 'db-password'), 'utf8')).trim(), credentialSecret);
  });
});
