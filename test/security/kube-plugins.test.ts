/**
 * Hostile corpus, "Errors and settings carry no secrets" for Kubernetes credential plugins
 * (issue 7): kubeconfig `exec` plugins and auth-providers that print tokens where they should not,
 * fail, hang, flood, or carry environment variables. Real control plane, runner and worker
 * processes against the fake API server (test/fakes/kube-api-server.ts); the plugins are small
 * shell scripts in a temp dir that print an ExecCredential and write their environment to a file.
 * Each case asserts its code, that no plugin output or token is in any result, log or Redis key,
 * what the API server saw, and that every process is healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';
import { startSystem, type System } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const KUBE_TOKEN = 'plugin-issued-token-3e7a1c9b5d';
const PLUGIN_SECRET = 'plugin-stderr-secret-8b2f6d4a0c';
const LEAK_VALUE = 'conn-a-env-value-5c1e9a7b3f';
const WORKER_ONLY = 'worker-only-env-value-2d8f4b6a1e';
const SECRETS = [KUBE_TOKEN, PLUGIN_SECRET, LEAK_VALUE, WORKER_ONLY].flatMap((s) => secretForms(s));

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('security: kubeconfig credential plugins', () => {
  let system: System;
  let fake: FakeKubeApiServer;
  let plugins: { path: string; remove(): Promise<void> };
  let dir: string;

  const credential = (token: string, extra: Obj = {}) =>
    JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, ...extra } });

  async function plugin(name: string, body: string): Promise<string> {
    const file = join(plugins.path, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  /** A kubeconfig (inside the config dir) whose one user is `user`, pointing at the fake. */
  async function kubeconfig(name: string, user: Obj): Promise<string> {
    const doc = JSON.parse(fake.kubeconfig([{ name: 'c' }])) as Obj;
    doc['users'] = [{ name: 'c-user', user }];
    await writeFile(join(dir, 'kube', `${name}.yaml`), JSON.stringify(doc), { mode: 0o600 });
    return `kube/${name}.yaml`;
  }

  before(async () => {
    fake = await startFakeKubeApiServer({ token: KUBE_TOKEN });
    plugins = await tempDir('kube-plugins');
    system = await startSystem({
      allowlist: 'com.datadoghq.kubernetes.core.*,com.datadoghq.script.*',
      workerEnv: { WORKER_ONLY_SETTING: WORKER_ONLY },
    });
    dir = system.configDir;
    await mkdir(join(dir, 'kube'), { recursive: true });
    // A script that prints LEAK_A from the worker's environment, if the worker's process.env ever had it.
    await writeFile(
      join(dir, 'script-config.yaml'),
      [
        'schemaId: script-credentials-v1',
        'runPredefinedScript:',
        '  showLeak:',
        '    command: ["/bin/sh", "-c", "printf \'%s\' \\"${LEAK_A:-absent}\\""]',
        '    allowedEnvVars: [LEAK_A]',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await system.stop();
    await fake.close();
    await plugins.remove();
  });

  async function listPods(kubeconfigPath: string, timeoutMs = 15_000): Promise<TaskView> {
    const connectionId = await system.createConnection({ integration: 'kubernetes', settings: { kubeconfigPath } });
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.kubernetes.core.listPod',
      inputs: { namespace: 'default' },
      connectionId,
      timeoutMs,
    });
    const done = await system.api.waitForTask(task.id, 40_000);
    assert.ok(done.state === 'succeeded' || done.state === 'failed', `task ended ${done.state}`);
    return done;
  }

  async function closing(done: TaskView): Promise<void> {
    assertNoSecretIn(done, SECRETS, `task ${done.id}`);
    assertNoSecretIn(await system.api.getTaskEvents(done.id), SECRETS, `task ${done.id} events`);
    await assertNothingLeaked(system, SECRETS);
  }

  async function expectPluginFailed(done: TaskView, message: RegExp): Promise<void> {
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_K8S_AUTH_PLUGIN_FAILED', done.outcome?.error?.message);
    assert.equal(done.outcome.error.retryable, false);
    assert.match(done.outcome.error.message, message);
    await closing(done);
  }

  const envDump = (file: string) => readFile(file, 'utf8');

  test("1. an exec plugin authenticates; it runs with a per-call environment, not the worker's", async () => {
    const dump = join(plugins.path, 'env-1.txt');
    const cmd = await plugin('ok.sh', `env > "$1"\nprintf '%s' '${credential(KUBE_TOKEN)}'`);
    const path = await kubeconfig('ok', {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: cmd, args: [dump], env: [{ name: 'PLUGIN_SETTING', value: 'on' }] },
    });
    const before = fake.requests.length;
    const done = await listPods(path);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.ok(fake.requests.length > before, 'the API server was called');
    const env = await envDump(dump);
    assert.match(env, /^PLUGIN_SETTING=on$/m, 'the plugin got its exec.env');
    assert.match(env, /^KUBERNETES_EXEC_INFO=/m);
    assert.match(env, /^PATH=/m);
    for (const name of ['WORKER_ONLY_SETTING', 'REDIS_URL', 'PAR_QUEUE_PREFIX', 'DD_PRIVATE_RUNNER_CONFIG_DIR']) {
      assert.doesNotMatch(env, new RegExp(`^${name}=`, 'm'), `${name} reached the plugin`);
    }
    await closing(done);
  });

  test("2. one connection's exec env reaches neither the next connection's plugin nor the worker's process.env", async () => {
    const dumpA = join(plugins.path, 'env-a.txt');
    const dumpB = join(plugins.path, 'env-b.txt');
    const cmd = await plugin('dump.sh', `env > "$1"\nprintf '%s' '${credential(KUBE_TOKEN)}'`);
    const a = await kubeconfig('conn-a', { exec: { command: cmd, args: [dumpA], env: [{ name: 'LEAK_A', value: LEAK_VALUE }] } });
    const b = await kubeconfig('conn-b', { exec: { command: cmd, args: [dumpB] } });
    assert.equal((await listPods(a)).state, 'succeeded');
    assert.match(await envDump(dumpA), /^LEAK_A=/m, "connection A's plugin got its variable");
    const doneB = await listPods(b);
    assert.equal(doneB.state, 'succeeded');
    assert.doesNotMatch(await envDump(dumpB), /LEAK_A/, "connection B's plugin saw A's variable");
    // A script allowed to see LEAK_A gets it from the worker's process.env: it must not be there.
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.script.runPredefinedScript',
      inputs: { scriptName: 'showLeak' },
      timeoutMs: 15_000,
    });
    const script = await system.api.waitForTask(task.id, 30_000);
    assert.equal(script.state, 'succeeded', JSON.stringify(script.outcome));
    assert.equal((script.outcome?.output as Obj)['stdout'], 'absent');
    await closing(doneB);
  });

  test("3. a failing plugin's stderr never reaches the error: fixed message with the exit status", async () => {
    const cmd = await plugin('fail.sh', `echo "token=${PLUGIN_SECRET} could not refresh" >&2\nexit 7`);
    const done = await listPods(await kubeconfig('fail', { exec: { command: cmd } }));
    await expectPluginFailed(done, /exited with status 7/);
  });

  test('4. a plugin that prints its secret as non-JSON stdout fails without quoting it', async () => {
    const cmd = await plugin('garbage.sh', `echo "here is ${PLUGIN_SECRET}, not JSON"`);
    await expectPluginFailed(await listPods(await kubeconfig('garbage', { exec: { command: cmd } })), /not JSON/);
  });

  test('5. an ExecCredential with no token or certificate fails; its other fields stay out', async () => {
    const cmd = await plugin('empty.sh', `printf '%s' '{"kind":"ExecCredential","status":{"note":"${PLUGIN_SECRET}"}}'`);
    await expectPluginFailed(await listPods(await kubeconfig('empty', { exec: { command: cmd } })), /neither a token/);
  });

  test('6. a plugin command that does not exist is PAR_ERR_K8S_AUTH_PLUGIN_FAILED (ENOENT)', async () => {
    const done = await listPods(await kubeconfig('missing', { exec: { command: join(plugins.path, 'no-such-plugin') } }));
    await expectPluginFailed(done, /could not be started \(ENOENT\)/);
  });

  test('7. a hanging plugin is bounded by the task timeout and killed', async () => {
    const pidFile = join(plugins.path, 'hang.pid');
    const cmd = await plugin('hang.sh', `echo $$ > "$1"\nexec sleep 600`);
    const before = fake.requests.length;
    const done = await listPods(await kubeconfig('hang', { exec: { command: cmd, args: [pidFile] } }), 3000);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_TASK_TIMEOUT');
    assert.equal(fake.requests.length, before, 'no request without a credential');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    await waitUntil(() => (existsSync(`/proc/${pid}`) ? undefined : true), 15_000, 'the hanging plugin to be killed');
    await closing(done);
  });

  test('8. a plugin flooding stdout is cut at 1 MiB', async () => {
    const cmd = await plugin('flood.sh', `head -c 3000000 /dev/zero | tr '\\0' 'a'`);
    await expectPluginFailed(await listPods(await kubeconfig('flood', { exec: { command: cmd } })), /more than 1048576 bytes/);
  });

  test('9. an auth-provider cmd-path (gcp) is never run; an expired provider token is a fixed error', async () => {
    const marker = join(plugins.path, 'gcp-ran');
    const cmd = await plugin('gcp.sh', `touch "${marker}"\necho "{\\"token\\": \\"${PLUGIN_SECRET}\\"}"`);
    const done = await listPods(
      await kubeconfig('gcp', {
        'auth-provider': { name: 'gcp', config: { 'cmd-path': cmd, 'token-key': '{.token}', 'expiry-key': '{.expiry}' } },
      }),
    );
    await expectPluginFailed(done, /auth-provider gave no usable token/);
    assert.equal(existsSync(marker), false, 'the cmd-path command ran');
  });

  test('10. an auth-provider carrying an exec block runs through the same per-call plugin runner', async () => {
    const dump = join(plugins.path, 'env-provider.txt');
    const cmd = await plugin('provider.sh', `env > "$1"\nprintf '%s' '${credential(KUBE_TOKEN)}'`);
    const done = await listPods(
      await kubeconfig('provider', {
        'auth-provider': { name: 'exec', config: { exec: { command: cmd, args: [dump], env: [{ name: 'PROVIDER_VAR', value: 'x' }] } } },
      }),
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const env = await envDump(dump);
    assert.match(env, /^PROVIDER_VAR=x$/m);
    assert.doesNotMatch(env, /WORKER_ONLY_SETTING/);
    await closing(done);
  });

  test("11. a successful plugin's stderr chatter is dropped, never logged", async () => {
    const cmd = await plugin('chatty.sh', `echo "debug: refreshed ${PLUGIN_SECRET}" >&2\nprintf '%s' '${credential(KUBE_TOKEN)}'`);
    const done = await listPods(await kubeconfig('chatty', { exec: { command: cmd } }));
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    await closing(done);
  });

  test('12. a plugin token the API server refuses is PAR_ERR_K8S_UNAUTHORIZED, the token nowhere', async () => {
    const cmd = await plugin('wrong.sh', `printf '%s' '${credential(PLUGIN_SECRET)}'`);
    const before = fake.requests.length;
    const done = await listPods(await kubeconfig('wrong', { exec: { command: cmd } }));
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_K8S_UNAUTHORIZED');
    assert.ok(fake.requests.length > before);
    await closing(done);
  });

  test('13. a credential with an expiry is reused until it expires: the plugin runs once for two tasks', async () => {
    const runs = join(plugins.path, 'runs.txt');
    const expiry = new Date(Date.now() + 3600_000).toISOString();
    const cmd = await plugin('cached.sh', `echo run >> "$1"\nprintf '%s' '${credential(KUBE_TOKEN, { expirationTimestamp: expiry })}'`);
    const path = await kubeconfig('cached', { exec: { command: cmd, args: [runs] } });
    const first = await listPods(path);
    const second = await listPods(path);
    assert.equal(first.state, 'succeeded', JSON.stringify(first.outcome));
    assert.equal(second.state, 'succeeded', JSON.stringify(second.outcome));
    assert.equal((await readFile(runs, 'utf8')).trim().split('\n').length, 1);
    await closing(second);
  });
});
