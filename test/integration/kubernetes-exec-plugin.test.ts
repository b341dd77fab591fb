/**
 * The Kubernetes client's exec plugin runner in-process (src/actions/kubernetes/exec-plugin.ts via
 * KubeClients), against the fake API server: a plugin's `exec.env` never lands in this process's
 * `process.env` (client-node's ExecAuth writes it there for good), the next connection's plugin
 * does not see it, and an aborted task kills its plugin.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClients } from '../../src/actions/kubernetes/clients.js';
import { ParError } from '../../src/errors/par-error.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const TOKEN = 'exec-plugin-token-77aa55cc';

describe('kubernetes exec plugins in-process', () => {
  let fake: FakeKubeApiServer;
  let dir: { path: string; remove(): Promise<void> };
  let clients: KubeClients;

  before(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN });
    dir = await tempDir('exec-plugin');
    await mkdir(join(dir.path, 'kube'), { recursive: true });
    clients = new KubeClients({ PATH: process.env['PATH'], HOME: '/nonexistent-home', SECRET_OF_WORKER: 'never-passed' });
  });
  after(async () => {
    clients.close();
    await fake.close();
    await dir.remove();
  });

  async function kubeconfig(name: string, user: Record<string, unknown>): Promise<string> {
    const doc = JSON.parse(fake.kubeconfig([{ name: 'c' }])) as Record<string, unknown>;
    doc['users'] = [{ name: 'c-user', user }];
    await writeFile(join(dir.path, 'kube', `${name}.json`), JSON.stringify(doc));
    return `kube/${name}.json`;
  }
  async function script(name: string, body: string): Promise<string> {
    const file = join(dir.path, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }
  const list = async (kubeconfigPath: string, signal = new AbortController().signal) => {
    const client = await clients.forTask({
      configDir: dir.path,
      connection: { id: 'k', integration: 'kubernetes', settings: { kubeconfigPath } },
      signal,
    });
    return client.json({ method: 'GET', path: '/api/v1/namespaces/default/pods' }, { signal, maxResponseBytes: 1 << 20 });
  };

  it('exec.env reaches its own plugin only, never process.env or the next plugin', async () => {
    const cred = JSON.stringify({ kind: 'ExecCredential', status: { token: TOKEN } });
    const cmd = await script('dump.sh', `env > "$1"\nprintf '%s' '${cred}'`);
    const a = await kubeconfig('a', {
      exec: { command: cmd, args: [join(dir.path, 'a.env')], env: [{ name: 'PAR_TEST_LEAK', value: 'from-a' }] },
    });
    const b = await kubeconfig('b', { exec: { command: cmd, args: [join(dir.path, 'b.env')] } });
    const envBefore = { ...process.env };
    await list(a);
    await list(b);
    assert.deepEqual({ ...process.env }, envBefore, 'process.env changed');
    assert.equal(process.env['PAR_TEST_LEAK'], undefined);
    const envA = await readFile(join(dir.path, 'a.env'), 'utf8');
    const envB = await readFile(join(dir.path, 'b.env'), 'utf8');
    assert.match(envA, /^PAR_TEST_LEAK=from-a$/m);
    assert.match(envA, /^HOME=\/nonexistent-home$/m, 'the base env comes from the parentEnv given, not process.env');
    assert.doesNotMatch(envA + envB, /SECRET_OF_WORKER/);
    assert.doesNotMatch(envB, /PAR_TEST_LEAK/);
  });

  it('an abort kills a hanging plugin and rejects at once', async () => {
    const pidFile = join(dir.path, 'hang.pid');
    const cmd = await script('hang.sh', `echo $$ > "$1"\nexec sleep 600`);
    const path = await kubeconfig('hang', { exec: { command: cmd, args: [pidFile] } });
    const controller = new AbortController();
    const pending = list(path, controller.signal);
    const pid = await waitUntil(
      async () => (existsSync(pidFile) ? Number((await readFile(pidFile, 'utf8')).trim()) || undefined : undefined),
      10_000,
      'the plugin to start',
    );
    controller.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_TASK_CANCELLED');
    await waitUntil(() => (existsSync(`/proc/${pid}`) ? undefined : true), 10_000, 'the plugin to be killed');
  });
});
