/**
 * The script bundle end to end: tasks submitted through the control plane's API, verified by the
 * runner, run by a spawned worker against the script config in the runner's config dir.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { startSystem, type System } from '../helpers/system.js';

const BUNDLE = 'com.datadoghq.script';

describe('e2e: com.datadoghq.script', () => {
  let system: System;

  before(async () => {
    system = await startSystem({ allowlist: `${BUNDLE}.*`, workers: 1, workerEnv: { PAR_TEST_E2E_WORKER_SECRET: 'e2e-s3cret' } });
    await writeFile(
      join(system.configDir, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          greet: {
            command: ['/bin/sh', '-c', 'printf "hello %s\\n" "$1"; env', 'sh', '{{ parameters.who }}'],
            parameterSchema: {
              type: 'object',
              properties: { who: { type: 'string', maxLength: 64 } },
              required: ['who'],
              additionalProperties: false,
            },
          },
          fails: { command: ['/bin/sh', '-c', 'echo broken >&2; exit 2'] },
        },
        runPredefinedPowershellScript: { disk: { command: ['/opt/scripts/disk.ps1'] } },
      }),
    );
    await mkdir(join(system.configDir, 'credentials'));
    await writeFile(
      join(system.configDir, 'credentials', 'scripts.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: { onConnection: { command: ['/bin/echo', 'from the connection file'] } },
      }),
    );
  });
  after(async () => {
    await system.stop();
  });

  async function runTask(action: string, inputs: Record<string, unknown>, connectionId?: string): Promise<TaskView> {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `${BUNDLE}.${action}`,
      inputs,
      timeoutMs: 15_000,
      ...(connectionId ? { connectionId } : {}),
    });
    return system.api.waitForTask(task.id, 30_000);
  }

  test('runPredefinedScript runs the declared command with the parameters as literal arguments', async () => {
    const done = await runTask('runPredefinedScript', { scriptName: 'greet', parameters: { who: '$(touch /tmp/par-e2e-pwned); `id`' } });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const output = done.outcome?.output as {
      executedCommand: string[];
      exitCode: number;
      stdout: string;
      stderr: string;
      durationMillis: number;
    };
    assert.equal(output.exitCode, 0);
    const [first, ...envLines] = output.stdout.split('\n');
    assert.equal(first, 'hello $(touch /tmp/par-e2e-pwned); `id`');
    assert.equal(output.executedCommand.at(-1), '$(touch /tmp/par-e2e-pwned); `id`');
    await assert.rejects(access('/tmp/par-e2e-pwned'));
    // The worker's environment (Redis URL, secrets) stays out of the script's.
    assert.doesNotMatch(output.stdout, /e2e-s3cret|REDIS_URL|DD_/);
    assert.ok(envLines.some((l) => l.startsWith('PATH=')));
    assert.equal(typeof output.durationMillis, 'number');
  });

  test('bad parameters, unknown scripts and failing scripts are clear failures', async () => {
    const invalid = await runTask('runPredefinedScript', { scriptName: 'greet', parameters: { who: 'x'.repeat(65) } });
    assert.equal(invalid.state, 'failed');
    assert.equal(invalid.outcome?.error?.code, 'PAR_ERR_SCRIPT_PARAMETERS_INVALID');

    const unknown = await runTask('runPredefinedScript', { scriptName: 'rm-everything' });
    assert.equal(unknown.state, 'failed');
    assert.equal(unknown.outcome?.error?.code, 'PAR_ERR_SCRIPT_NOT_FOUND');
    assert.match(unknown.outcome.error.message, /"rm-everything" is not declared/);

    const failing = await runTask('runPredefinedScript', { scriptName: 'fails' });
    assert.equal(failing.state, 'failed');
    assert.equal(failing.outcome?.error?.code, 'PAR_ERR_SCRIPT_EXIT_NONZERO');
    assert.match(failing.outcome.error.message, /exit code 2; stderr: broken/);

    const tolerated = await runTask('runPredefinedScript', { scriptName: 'fails', noFailOnError: true });
    assert.equal(tolerated.state, 'succeeded');
    assert.deepEqual(
      { ...(tolerated.outcome?.output as object), durationMillis: 0, executedCommand: [] },
      { executedCommand: [], exitCode: 2, stdout: '', stderr: 'broken', durationMillis: 0 },
    );

    const noInputs = await runTask('runPredefinedScript', {});
    assert.equal(noInputs.outcome?.error?.code, 'PAR_ERR_INPUT_INVALID');
  });

  test('enrichScript lists the scripts and testConnection checks the config', async () => {
    const enrich = await runTask('enrichScript', {});
    assert.equal(enrich.state, 'succeeded', JSON.stringify(enrich.outcome));
    assert.deepEqual(enrich.outcome?.output, {
      options: [
        { label: 'fails', value: 'fails', description: '' },
        { label: 'greet', value: 'greet', description: '' },
      ],
      placeholder: 'Select a script',
    });

    const check = await runTask('testConnection', {});
    assert.equal(check.state, 'succeeded', JSON.stringify(check.outcome));
    const output = check.outcome?.output as { valid: boolean; configFile: string; scriptCount: number; unavailableScripts: string[] };
    assert.equal(output.valid, true);
    assert.equal(output.configFile, 'script-config.yaml');
    assert.equal(output.scriptCount, 2);
    assert.deepEqual(output.unavailableScripts, ['disk']);
  });

  test('a script connection points the actions at its credential file', async () => {
    const connectionId = await system.createConnection({ integration: 'script', credentialPath: 'credentials/scripts.yaml' });
    const done = await runTask('runPredefinedScript', { scriptName: 'onConnection' }, connectionId);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal((done.outcome?.output as { stdout: string }).stdout, 'from the connection file');
    const enrich = await runTask('enrichScript', {}, connectionId);
    assert.deepEqual(enrich.outcome?.output, {
      options: [{ label: 'onConnection', value: 'onConnection', description: '' }],
      placeholder: 'Select a script',
    });
  });

  test('runPredefinedPowershellScript fails clearly where pwsh is not installed, and is attempted where it is', async () => {
    const hasPwsh = await Promise.any(
      ['/usr/bin/pwsh', '/usr/local/bin/pwsh', '/opt/microsoft/powershell/7/pwsh'].map((p) => access(p)),
    ).then(
      () => true,
      () => false,
    );
    const done = await runTask('runPredefinedPowershellScript', { scriptName: 'disk' });
    if (hasPwsh) {
      // With pwsh present the action runs; whatever the script does, pwsh was found.
      assert.notEqual(done.outcome?.error?.code, 'PAR_ERR_SCRIPT_PWSH_UNAVAILABLE', JSON.stringify(done.outcome));
      return;
    }
    assert.equal(done.state, 'failed');
    assert.deepEqual(
      { code: done.outcome?.error?.code, retryable: done.outcome?.error?.retryable },
      { code: 'PAR_ERR_SCRIPT_PWSH_UNAVAILABLE', retryable: false },
    );
  });
});
