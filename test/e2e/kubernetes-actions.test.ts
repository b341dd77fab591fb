/**
 * Kubernetes actions through the whole system: a task submitted to the control plane with a
 * `kubernetes` connection, run by a worker against the fake API server
 * (test/fakes/kube-api-server.ts) with the kubeconfig the connection names, result back
 * through the control plane. The allowlist admits the core and apps bundles only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';

const TOKEN = 'e2e-kube-token-abcdef0123456789';
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('kubernetes actions end to end', () => {
  let system: System;
  let fake: FakeKubeApiServer;
  let connectionId: string;

  before(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN });
    system = await startSystem({ workers: 1, allowlist: 'com.datadoghq.kubernetes.core.*,com.datadoghq.kubernetes.apps.*' });
    await mkdir(join(system.configDir, 'kube'), { recursive: true });
    await writeFile(join(system.configDir, 'kube/config.yaml'), fake.kubeconfig([{ name: 'other' }, { name: 'cluster-a', token: TOKEN }]), {
      mode: 0o600,
    });
    connectionId = await system.createConnection({
      integration: 'kubernetes',
      settings: { kubeconfigPath: 'kube/config.yaml', context: 'cluster-a' },
    });
  });

  after(async () => {
    await system.stop();
    await fake.close();
  });

  const runTask = async (action: string, inputs: Record<string, unknown>) => {
    const task = await system.api.submitTask({ runner: system.runnerName, action, inputs, connectionId, timeoutMs: 10_000 });
    return system.api.waitForTask(task.id, 20_000);
  };

  test('createConfigMap then listConfigMap returns the object from the cluster', async () => {
    const created = await runTask('com.datadoghq.kubernetes.core.createConfigMap', {
      namespace: 'default',
      body: { metadata: { name: 'e2e-settings', labels: { app: 'e2e' } }, data: { mode: 'on' } },
    });
    assert.equal(created.state, 'succeeded', JSON.stringify(created.outcome));
    assert.equal((created.outcome?.output as Obj)['metadata'].name, 'e2e-settings');

    const listed = await runTask('com.datadoghq.kubernetes.core.listConfigMap', { namespace: 'default', labelSelector: 'app=e2e' });
    assert.equal(listed.state, 'succeeded', JSON.stringify(listed.outcome));
    const items = (listed.outcome?.output as Obj)['items'] as Obj[];
    assert.deepEqual(
      items.map((i) => [i['metadata'].name, i['data']]),
      [['e2e-settings', { mode: 'on' }]],
    );
  });

  test('apps actions run; a 404 comes back as PAR_ERR_K8S_NOT_FOUND; batch is not allowlisted', async () => {
    const scaled = await runTask('com.datadoghq.kubernetes.apps.scaleDeployment', { namespace: 'default', name: 'missing', replicas: 3 });
    assert.equal(scaled.state, 'failed');
    assert.deepEqual(
      { code: scaled.outcome?.error?.code, retryable: scaled.outcome?.error?.retryable },
      { code: 'PAR_ERR_K8S_NOT_FOUND', retryable: false },
    );

    const before = fake.requests.length;
    const job = await runTask('com.datadoghq.kubernetes.batch.listJob', { namespace: 'default' });
    assert.equal(job.state, 'failed');
    assert.equal(job.outcome?.error?.code, 'PAR_ERR_ACTION_NOT_ALLOWLISTED');
    assert.equal(fake.requests.length, before, 'the refused task never reached the API server');
  });
});
