/**
 * The rest of the Kubernetes catalogue through the whole system: tasks submitted to the control
 * plane with a `kubernetes` connection, run by a worker against the FAKE API server
 * (test/fakes/kube-api-server.ts), results back through the control plane: a CRD and the custom
 * objects it serves, a deletecollection by label, vertical scaling and autoscaler limits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';

const TOKEN = 'e2e-kube-catalogue-token-4242';
const K = 'com.datadoghq.kubernetes';
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the rest of the Kubernetes catalogue end to end', () => {
  let system: System;
  let fake: FakeKubeApiServer;
  let connectionId: string;

  before(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN });
    system = await startSystem({
      workers: 1,
      allowlist: [
        `${K}.apiextensions.*`,
        `${K}.customresources.*`,
        `${K}.autoscaling.*`,
        `${K}.core.createConfigMap`,
        `${K}.core.deleteMultipleConfigMaps`,
        `${K}.apps.createDeployment`,
        `${K}.apps.scaleDeploymentVertically`,
      ].join(','),
    });
    await mkdir(join(system.configDir, 'kube'), { recursive: true });
    await writeFile(join(system.configDir, 'kube/config.yaml'), fake.kubeconfig([{ name: 'prod', token: TOKEN }]), { mode: 0o600 });
    connectionId = await system.createConnection({
      integration: 'kubernetes',
      settings: { kubeconfigPath: 'kube/config.yaml', context: 'prod' },
    });
  });

  after(async () => {
    await system.stop();
    await fake.close();
  });

  const runTask = async (action: string, inputs: Record<string, unknown>) => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `${K}.${action}`,
      inputs,
      connectionId,
      timeoutMs: 10_000,
    });
    const done = await system.api.waitForTask(task.id, 20_000);
    return done;
  };
  const ok = async (action: string, inputs: Record<string, unknown>): Promise<Obj> => {
    const done = await runTask(action, inputs);
    assert.equal(done.state, 'succeeded', `${action}: ${JSON.stringify(done.outcome)}`);
    return done.outcome?.output as Obj;
  };

  test('a CRD, then custom objects of it; a native group is refused before the API server sees it', async () => {
    await ok('apiextensions.createCustomResourceDefinition', {
      body: {
        metadata: { name: 'backups.ops.example.com' },
        spec: {
          group: 'ops.example.com',
          scope: 'Namespaced',
          names: { plural: 'backups', kind: 'Backup' },
          versions: [{ name: 'v1alpha1', served: true, storage: true }],
        },
      },
    });
    const gvr = { group: 'ops.example.com', version: 'v1alpha1', plural: 'backups', namespace: 'default' };
    await ok('customresources.createCustomObject', {
      ...gvr,
      body: { apiVersion: 'ops.example.com/v1alpha1', kind: 'Backup', metadata: { name: 'nightly' }, spec: { retain: 7 } },
    });
    const patched = await ok('customresources.patchCustomObject', {
      ...gvr,
      name: 'nightly',
      body: [{ op: 'replace', path: '/spec/retain', value: 14 }],
    });
    assert.equal(patched['spec'].retain, 14);
    const listed = await ok('customresources.listCustomObject', gvr);
    assert.deepEqual(
      listed['items'].map((i: Obj) => [i['metadata'].name, i['spec'].retain]),
      [['nightly', 14]],
    );

    const before = fake.requests.length;
    const refused = await runTask('customresources.listCustomObject', {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: 'clusterroles',
      namespace: 'default',
    });
    assert.equal(refused.state, 'failed');
    assert.equal(refused.outcome?.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.equal(fake.requests.length, before);
  });

  test('deleteMultipleConfigMaps by label, scaleDeploymentVertically and updateAutoscalerLimits', async () => {
    for (const [name, job] of [
      ['run-1', 'cleanup'],
      ['run-2', 'cleanup'],
      ['keep', 'other'],
    ]) {
      await ok('core.createConfigMap', { namespace: 'default', body: { metadata: { name, labels: { job } } } });
    }
    assert.deepEqual(await ok('core.deleteMultipleConfigMaps', { namespace: 'default', labelSelector: 'job=cleanup' }), {});
    assert.deepEqual(
      ['run-1', 'run-2', 'keep'].map((n) => fake.get('v1', 'configmaps', 'default', n) !== undefined),
      [false, false, true],
    );

    await ok('apps.createDeployment', {
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } },
        },
      },
    });
    const scaled = await ok('apps.scaleDeploymentVertically', {
      namespace: 'default',
      name: 'web',
      containerUpdates: [{ containerName: 'nginx', limits: { cpu: '500m', memory: '256Mi' } }],
    });
    assert.deepEqual(scaled['spec'].template.spec.containers, [
      { name: 'nginx', image: 'nginx:1.27', resources: { limits: { cpu: '500m', memory: '256Mi' } } },
    ]);

    fake.seed('autoscaling/v2', 'horizontalpodautoscalers', {
      metadata: { name: 'web', namespace: 'default' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 3 },
    });
    const limits = await ok('autoscaling.updateAutoscalerLimits', { namespace: 'default', name: 'web', minReplicas: 2, maxReplicas: 8 });
    assert.deepEqual([limits['horizontalPodAutoscaler'].spec.minReplicas, limits['horizontalPodAutoscaler'].spec.maxReplicas], [2, 8]);
  });
});
