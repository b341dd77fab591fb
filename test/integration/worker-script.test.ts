/**
 * The script bundle inside a real worker (real Redis, signed tasks): the config from the config
 * dir or from a script connection's credential file, the worker's own environment kept from
 * scripts, and the task deadline / cancel killing the whole process group.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitUntil } from '../helpers/wait.js';
import { newTaskId, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const RUN = 'com.datadoghq.script.runPredefinedScript';
const SECRET_ENV = 'PAR_TEST_SCRIPT_WORKER_SECRET';
const ALLOWED_ENV = 'PAR_TEST_SCRIPT_ALLOWED';

function isAlive(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (stat) => !/^\d+ \(.*\) Z /.test(stat),
    () => false,
  );
}

async function readPid(file: string): Promise<number> {
  return waitUntil(async () => Number((await readFile(file, 'utf8').catch(() => '')).trim()) || undefined, 5_000, `pid in ${file}`, 20);
}

describe('worker: com.datadoghq.script', () => {
  let h: WorkerHarness;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    // The worker hands its own environment (process.env here) to the bundle.
    for (const name of [SECRET_ENV, ALLOWED_ENV]) saved[name] = process.env[name];
    process.env[SECRET_ENV] = 'w0rker-only-s3cret';
    process.env[ALLOWED_ENV] = 'shared-value';
    // Unboxed (PAR_SCRIPT_SANDBOX=none): these scripts live in, and write pid files to, the config
    // dir, which a sandbox hides. The boxed runs: test/integration/script-sandbox.test.ts and
    // test/security/script-box.test.ts.
    h = await startWorkerHarness('worker-script', { identityAllowlist: ['com.datadoghq.script.*'], config: { scriptSandbox: 'none' } });
    await writeFile(join(h.configDir, 'env.mjs'), 'process.stdout.write(JSON.stringify(process.env));\n');
    await writeFile(
      join(h.configDir, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          greet: {
            command: ['/bin/echo', 'hello', '{{ parameters.who }}'],
            parameterSchema: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] },
          },
          env: { command: [process.execPath, join(h.configDir, 'env.mjs')], allowedEnvVars: [ALLOWED_ENV] },
          sleepy: { command: ['/bin/sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', '{{ parameters.pidFile }}'] },
          exit7: { command: ['/bin/sh', '-c', 'echo nope >&2; exit 7'] },
        },
      }),
    );
    await mkdir(join(h.configDir, 'credentials'));
    await writeFile(
      join(h.configDir, 'credentials', 'scripts.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: { fromConnection: { command: ['/bin/echo', 'via connection'] } },
      }),
    );
  });
  after(async () => {
    await h.close();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('runs a script from the config dir', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: RUN, inputs: { scriptName: 'greet', parameters: { who: 'world; id' } } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.deepEqual(
      { ...(outcome.output as object), durationMillis: 0 },
      { executedCommand: ['/bin/echo', 'hello', 'world; id'], exitCode: 0, stdout: 'hello world; id', stderr: '', durationMillis: 0 },
    );
  });

  it('runs a script from a script connection credential file', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: RUN,
      inputs: { scriptName: 'fromConnection' },
      connection: { id: 'conn-1', integration: 'script', credentialPath: 'credentials/scripts.yaml' },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.equal((outcome.output as { stdout: string }).stdout, 'via connection');

    const other = newTaskId();
    await h.submit({
      sub: other,
      action: RUN,
      inputs: { scriptName: 'greet', parameters: { who: 'x' } },
      connection: { id: 'conn-1', integration: 'script', credentialPath: 'credentials/scripts.yaml' },
    });
    const missing = await h.waitResult(other);
    assert.equal(missing.kind, 'failed');
    assert.equal(missing.error?.code, 'PAR_ERR_SCRIPT_NOT_FOUND');
    assert.match(missing.error.message, /credentials\/scripts\.yaml/);
  });

  it('a secret in the worker environment is not visible to the script', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: RUN, inputs: { scriptName: 'env' } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    const stdout = (outcome.output as { stdout: string }).stdout;
    assert.doesNotMatch(stdout, /w0rker-only-s3cret/);
    assert.doesNotMatch(stdout, /REDIS|PAR_QUEUE/);
    const env = JSON.parse(stdout) as Record<string, string>;
    assert.equal(env[ALLOWED_ENV], 'shared-value');
    assert.equal(env[SECRET_ENV], undefined);
  });

  it('a non-zero exit fails once, without retries', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: RUN, inputs: { scriptName: 'exit7' } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.attempts, 1);
    assert.deepEqual(
      { code: outcome.error?.code, retryable: outcome.error?.retryable },
      { code: 'PAR_ERR_SCRIPT_EXIT_NONZERO', retryable: false },
    );
    assert.match(outcome.error?.message ?? '', /exit code 7; stderr: nope/);
  });

  it('the task deadline kills the script and its children', async () => {
    const pidFile = join(h.configDir, 'deadline.pid');
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: RUN, inputs: { scriptName: 'sleepy', parameters: { pidFile } }, timeoutMs: 700 });
    const pid = await readPid(pidFile);
    const outcome = await h.waitResult(taskId, 10_000);
    assert.equal(outcome.kind, 'timedOut', JSON.stringify(outcome));
    assert.equal(await waitUntil(async () => ((await isAlive(pid)) ? undefined : true), 3_000, `pid ${pid} gone`, 25), true);
  });

  it('cancelling the task kills the script and its children', async () => {
    const pidFile = join(h.configDir, 'cancel.pid');
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: RUN, inputs: { scriptName: 'sleepy', parameters: { pidFile } }, timeoutMs: 30_000 });
    const pid = await readPid(pidFile);
    assert.equal(h.worker.cancel(taskId, 'test'), true);
    const outcome = await h.waitResult(taskId, 10_000);
    assert.equal(outcome.kind, 'cancelled', JSON.stringify(outcome));
    assert.equal(await waitUntil(async () => ((await isAlive(pid)) ? undefined : true), 3_000, `pid ${pid} gone`, 25), true);
  });
});
