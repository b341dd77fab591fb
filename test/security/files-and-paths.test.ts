/**
 * Hostile corpus, "Files are files" and "Paths stay inside the config dir" (issue 7): credential
 * files, kubeconfigs and script configs that are FIFOs, devices, directories or huge, and paths
 * that climb out, are absolute or symlink out. Real control plane, runner and worker processes;
 * the HTTP target and the fake Kubernetes API server record every request. Each case asserts its
 * code, that the target / API server saw nothing, that the secret kept outside the config dir is
 * in no result, log or Redis key, and that every process is healthy (the worker still runs tasks).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as undiciRequest } from 'undici';
import { ADMIN_API } from '../../src/contracts/admin-api.js';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { connectRedis } from '../helpers/redis.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { tempDir } from '../helpers/tmp.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const OUTSIDE_SECRET = 'outside-secret-4c8e1a9f2b7d';
const KUBE_TOKEN = 'kube-files-token-0a9b8c7d6e5f';
const SECRETS = [...secretForms(OUTSIDE_SECRET), ...secretForms(KUBE_TOKEN)];

describe('security: files are files, paths stay inside the config dir', () => {
  let system: System;
  let target: TargetServer;
  let fake: FakeKubeApiServer;
  let outside: { path: string; remove(): Promise<void> };
  let dir: string;

  before(async () => {
    target = await startTargetServer();
    fake = await startFakeKubeApiServer({ token: KUBE_TOKEN });
    outside = await tempDir('files-outside');
    system = await startSystem({ allowlist: 'com.datadoghq.http.*,com.datadoghq.kubernetes.core.*,com.datadoghq.script.*' });
    dir = system.configDir;
    await mkdir(join(dir, 'credentials', 'a-directory'), { recursive: true });
    await mkdir(join(dir, 'kube'), { recursive: true });
    const credential = JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'apiToken', tokenValue: OUTSIDE_SECRET }] });
    // The secret lives outside the config dir only; everything below tries to reach it.
    await writeFile(join(outside.path, 'stolen.json'), credential);
    await writeFile(join(outside.path, 'kubeconfig.yaml'), fake.kubeconfig([{ name: 'c', token: KUBE_TOKEN }]));
    await writeFile(
      join(outside.path, 'scripts.yaml'),
      'schemaId: script-credentials-v1\nrunPredefinedScript:\n  id:\n    command: ["/usr/bin/id"]\n',
    );
    await symlink(join(outside.path, 'stolen.json'), join(dir, 'credentials', 'link-out.json'));
    await symlink(join(outside.path, 'kubeconfig.yaml'), join(dir, 'kube', 'link-out.yaml'));
    await symlink(join(outside.path, 'scripts.yaml'), join(dir, 'credentials', 'scripts-link-out.yaml'));
    execFileSync('mkfifo', [join(dir, 'credentials', 'fifo.json')]);
    execFileSync('mkfifo', [join(dir, 'kube', 'fifo.yaml')]);
    execFileSync('mkfifo', [join(dir, 'credentials', 'scripts-fifo.yaml')]);
    // /dev/zero's twin inside the config dir (char device 1,5): the tests run as root, as CI does.
    execFileSync('mknod', [join(dir, 'credentials', 'zero.json'), 'c', '1', '5']);
    await writeFile(
      join(dir, 'credentials', 'huge.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'apiToken', tokenValue: 'x'.repeat(1024 * 1024) }] }),
    );
    await writeFile(join(dir, 'kube', 'huge.yaml'), `# ${'y'.repeat(2 * 1024 * 1024)}\n`);
    // Allowed: a real kubeconfig and credential file inside, and symlinks that stay inside.
    await writeFile(join(dir, 'kube', 'config.yaml'), fake.kubeconfig([{ name: 'c', token: KUBE_TOKEN }]), { mode: 0o600 });
    await symlink('config.yaml', join(dir, 'kube', 'link-in.yaml'));
    await writeFile(
      join(dir, 'credentials', 'real.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'apiToken', tokenValue: 'inside-token-5e6f7a8b' }] }),
    );
    await symlink(join(dir, 'credentials', 'real.json'), join(dir, 'credentials', 'link-in.json'));
  });

  after(async () => {
    await system.stop();
    await target.close();
    await fake.close();
    await outside.remove();
  });

  async function run(action: string, inputs: Record<string, unknown>, connectionId?: string, timeoutMs = 15_000): Promise<TaskView> {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action,
      inputs,
      ...(connectionId ? { connectionId } : {}),
      timeoutMs,
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assert.ok(done.state === 'succeeded' || done.state === 'failed', `task ended ${done.state}`);
    return done;
  }
  const httpConn = (credentialPath: string) =>
    system.createConnection({ integration: 'http', credentialPath, settings: { baseUrl: target.url } });
  const kubeConn = (kubeconfigPath: string) => system.createConnection({ integration: 'kubernetes', settings: { kubeconfigPath } });
  const httpTask = async (credentialPath: string) => run('com.datadoghq.http.request', { url: '/health' }, await httpConn(credentialPath));
  const kubeTask = async (kubeconfigPath: string) =>
    run('com.datadoghq.kubernetes.core.listPod', { namespace: 'default' }, await kubeConn(kubeconfigPath));

  async function expectRefused(done: TaskView, code: string, seen: { target: number; kube: number }): Promise<void> {
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, code, done.outcome?.error?.message);
    assert.equal(done.outcome.attempts, 1, 'not retried');
    assert.equal(target.requests.length, seen.target, 'the HTTP target saw nothing');
    assert.equal(fake.requests.length, seen.kube, 'the API server saw nothing');
    assertNoSecretIn(done, SECRETS, `task ${done.id}`);
    await assertNothingLeaked(system, SECRETS);
  }
  const counts = () => ({ target: target.requests.length, kube: fake.requests.length });

  test('1. a FIFO as credential file is refused at once (PAR_ERR_FILE_NOT_REGULAR), not hung until the timeout', async () => {
    const seen = counts();
    const started = Date.now();
    const done = await run('com.datadoghq.http.request', { url: '/health' }, await httpConn('credentials/fifo.json'), 20_000);
    assert.ok(Date.now() - started < 15_000, 'refused well before the task timeout');
    await expectRefused(done, 'PAR_ERR_FILE_NOT_REGULAR', seen);
  });

  test('2. a FIFO as kubeconfig is refused and the worker stays responsive: another task completes meanwhile', async () => {
    const seen = counts();
    const kubeConnection = await kubeConn('kube/fifo.yaml');
    const okConnection = await httpConn('credentials/real.json');
    const [fifo, ok] = await Promise.all([
      system.api.submitTask({
        runner: system.runnerName,
        action: 'com.datadoghq.kubernetes.core.listPod',
        inputs: { namespace: 'default' },
        connectionId: kubeConnection,
        timeoutMs: 15_000,
      }),
      system.api.submitTask({
        runner: system.runnerName,
        action: 'com.datadoghq.http.request',
        inputs: { url: '/health' },
        connectionId: okConnection,
        timeoutMs: 15_000,
      }),
    ]);
    const [fifoDone, okDone] = await Promise.all([system.api.waitForTask(fifo.id, 30_000), system.api.waitForTask(ok.id, 30_000)]);
    assert.equal(okDone.state, 'succeeded', JSON.stringify(okDone.outcome));
    await expectRefused(fifoDone, 'PAR_ERR_FILE_NOT_REGULAR', { target: seen.target + 1, kube: seen.kube });
  });

  test('3. a directory as credential file is PAR_ERR_FILE_NOT_REGULAR', async () => {
    const seen = counts();
    await expectRefused(await httpTask('credentials/a-directory'), 'PAR_ERR_FILE_NOT_REGULAR', seen);
  });

  test("4. a character device (/dev/zero's twin in the config dir) is PAR_ERR_FILE_NOT_REGULAR, never read", async () => {
    const seen = counts();
    await expectRefused(await httpTask('credentials/zero.json'), 'PAR_ERR_FILE_NOT_REGULAR', seen);
  });

  test('5. a credential file over 1 MiB is PAR_ERR_FILE_TOO_LARGE', async () => {
    const seen = counts();
    await expectRefused(await httpTask('credentials/huge.json'), 'PAR_ERR_FILE_TOO_LARGE', seen);
  });

  test('6. a 2 MiB kubeconfig is PAR_ERR_FILE_TOO_LARGE', async () => {
    const seen = counts();
    await expectRefused(await kubeTask('kube/huge.yaml'), 'PAR_ERR_FILE_TOO_LARGE', seen);
  });

  test('7. ".." paths: refused by the control plane, and by the worker when one gets past it', async () => {
    const seen = counts();
    await assertControlPlaneRefuses('../outside/stolen.json');
    await assertControlPlaneRefuses('credentials/x.json', { kubeconfigPath: '../kube-outside.yaml' }, 'kubernetes');
    // A connection rewritten behind the control plane's back (an older or compromised control plane).
    await expectRefused(await kubeTaskBypassing('../kube-outside.yaml'), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
    await expectRefused(await kubeTaskBypassing('kube/../kube/config.yaml'), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
  });

  test('8. absolute paths are refused, even one pointing inside the config dir', async () => {
    const seen = counts();
    await assertControlPlaneRefuses(join(outside.path, 'stolen.json'));
    await assertControlPlaneRefuses('credentials/x.json', { kubeconfigPath: join(dir, 'kube', 'config.yaml') }, 'kubernetes');
    await expectRefused(await kubeTaskBypassing(join(outside.path, 'kubeconfig.yaml')), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
    await expectRefused(await kubeTaskBypassing(join(dir, 'kube', 'config.yaml')), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
  });

  test('9. a credential file that symlinks out of the config dir is PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', async () => {
    const seen = counts();
    await expectRefused(await httpTask('credentials/link-out.json'), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
  });

  test('10. a kubeconfig that symlinks out is refused; the API server never hears of it', async () => {
    const seen = counts();
    await expectRefused(await kubeTask('kube/link-out.yaml'), 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
  });

  test('11. symlinks that stay inside the config dir are followed (credential file and kubeconfig)', async () => {
    const http = await httpTask('credentials/link-in.json');
    assert.equal(http.state, 'succeeded', JSON.stringify(http.outcome));
    const kube = await kubeTask('kube/link-in.yaml');
    assert.equal(kube.state, 'succeeded', JSON.stringify(kube.outcome));
    await assertNothingLeaked(system, SECRETS);
  });

  test('12. a script connection whose config is a FIFO is PAR_ERR_FILE_NOT_REGULAR', async () => {
    const seen = counts();
    const conn = await system.createConnection({ integration: 'script', credentialPath: 'credentials/scripts-fifo.yaml' });
    await expectRefused(
      await run('com.datadoghq.script.runPredefinedScript', { scriptName: 'id' }, conn),
      'PAR_ERR_FILE_NOT_REGULAR',
      seen,
    );
  });

  test('13. a script connection whose config symlinks out is refused; the script never runs', async () => {
    const seen = counts();
    const conn = await system.createConnection({ integration: 'script', credentialPath: 'credentials/scripts-link-out.yaml' });
    const done = await run('com.datadoghq.script.runPredefinedScript', { scriptName: 'id' }, conn);
    await expectRefused(done, 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', seen);
    assert.doesNotMatch(JSON.stringify(done), /uid=/);
  });

  async function assertControlPlaneRefuses(
    credentialPath: string,
    settings: Record<string, unknown> = { baseUrl: target.url },
    integration = 'http',
  ): Promise<void> {
    const identity = await readIdentity(dir);
    const res = await undiciRequest(`${system.cpUrl}${ADMIN_API.connections}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'dd-application-key': system.keys.appKey },
      body: JSON.stringify({ runnerId: identity?.runnerId, name: `bad-${Date.now()}`, integration, credentialPath, settings }),
    });
    const body = (await res.body.json()) as { code?: string };
    assert.equal(res.statusCode, 400, `${credentialPath} / ${JSON.stringify(settings)} was accepted`);
    assert.equal(body.code, 'PAR_ERR_REQUEST_INVALID');
  }

  /** A kubernetes connection made valid, then given `kubeconfigPath` straight in the control plane's Redis. */
  async function kubeTaskBypassing(kubeconfigPath: string): Promise<TaskView> {
    const id = await kubeConn('kube/config.yaml');
    const redis = connectRedis();
    try {
      await redis.hset(keySpace(system.cpPrefix).connection(id), 'settings', JSON.stringify({ kubeconfigPath }));
    } finally {
      redis.disconnect();
    }
    return run('com.datadoghq.kubernetes.core.listPod', { namespace: 'default' }, id);
  }
});
