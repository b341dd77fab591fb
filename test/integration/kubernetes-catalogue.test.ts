/**
 * The rest of the vendor's Kubernetes catalogue against the fake API server
 * (test/fakes/kube-api-server.ts), through the bundles' actions as the worker calls them
 * (inputs validated first): the remaining core kinds, EndpointSlices, CRDs and the custom objects
 * they serve, deletecollection (`deleteMultiple*`), the vertical/horizontal scaling actions,
 * autoscaler limits and cron schedules. Assertions read the fake's store and its request log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { createKubernetesBundles, type KubernetesBundle } from '../../src/actions/kubernetes/bundle.js';
import { ParError } from '../../src/errors/par-error.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';
import { tempDir } from '../helpers/tmp.js';
import { silentLogger } from './worker-harness.js';

const TOKEN = 'fake-admin-token-catalogue-0123';
const K = 'com.datadoghq.kubernetes';
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const widgetCrd = (scope: 'Namespaced' | 'Cluster', plural = 'widgets', kind = 'Widget') => ({
  metadata: { name: `${plural}.example.com` },
  spec: {
    group: 'example.com',
    scope,
    names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
});

function workload(name: string, containers: Obj[]): Obj {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers } },
    },
  };
}

describe('the rest of the Kubernetes catalogue against the fake API server', () => {
  let fake: FakeKubeApiServer;
  let dir: { path: string; remove(): Promise<void> };
  let bundles: KubernetesBundle[];
  let actions: Map<string, RegisteredAction>;

  const ctx = (): ActionContext => ({
    signal: new AbortController().signal,
    connection: { id: 'conn-k8s', integration: 'kubernetes', settings: { kubeconfigPath: 'kube/config.json', context: 'admin' } },
    configDir: dir.path,
    logger: silentLogger,
    limits: { httpMaxResponseBytes: 1024 * 1024 },
  });
  const run = async (fqn: string, inputs: unknown): Promise<Obj> => {
    const action = actions.get(`${K}.${fqn}`);
    assert.ok(action, `${fqn} is registered`);
    return (await action.run(action.inputSchema.parse(inputs), ctx())) as Obj;
  };
  const fails = async (fqn: string, inputs: unknown, code: string): Promise<void> => {
    await assert.rejects(run(fqn, inputs), (e: unknown) => e instanceof ParError && e.code === code);
  };

  before(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN });
    dir = await tempDir('k8s-catalogue');
    await mkdir(join(dir.path, 'kube'));
    await writeFile(join(dir.path, 'kube/config.json'), fake.kubeconfig([{ name: 'admin', token: TOKEN }]));
    bundles = createKubernetesBundles();
    actions = new Map(bundles.flatMap((b) => b.actions).map((a) => [a.fqn, a]));
  });
  after(async () => {
    await Promise.all(bundles.map((b) => b.close()));
    await fake.close();
    await dir.remove();
  });

  it('the remaining core kinds and EndpointSlices: create, get, list, patch, delete at their real paths', async () => {
    const bodies: Array<[string, string, Obj]> = [
      ['core', 'ServiceAccount', { metadata: { name: 'deployer' } }],
      ['core', 'Endpoints', { metadata: { name: 'legacy' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] }],
      ['core', 'LimitRange', { metadata: { name: 'limits' }, spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] } }],
      [
        'core',
        'PersistentVolumeClaim',
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      ],
      ['core', 'PodTemplate', { metadata: { name: 'tpl' }, template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } }],
      [
        'core',
        'ReplicationController',
        {
          metadata: { name: 'rc' },
          spec: {
            replicas: 1,
            selector: { app: 'rc' },
            template: { metadata: { labels: { app: 'rc' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
          },
        },
      ],
      ['core', 'ResourceQuota', { metadata: { name: 'quota' }, spec: { hard: { pods: '10' } } }],
      ['apps', 'ControllerRevision', { metadata: { name: 'web-7f9c' }, data: { spec: { template: {} } }, revision: 3 }],
      [
        'discovery',
        'EndpointSlice',
        {
          metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.0.0.2'] }],
          ports: [{ port: 8080 }],
        },
      ],
    ];
    for (const [bundle, kind, body] of bodies) {
      const created = await run(`${bundle}.create${kind}`, { namespace: 'default', body });
      assert.equal(created['kind'], kind);
      const got = await run(`${bundle}.get${kind}`, { namespace: 'default', name: body['metadata'].name });
      assert.equal(got['metadata'].uid, created['metadata'].uid);
      const listed = await run(`${bundle}.list${kind}`, { namespace: 'default' });
      assert.equal(listed['kind'], `${kind}List`);
      const patched = await run(`${bundle}.patch${kind}`, {
        namespace: 'default',
        name: body['metadata'].name,
        body: { metadata: { labels: { touched: 'yes' } } },
      });
      assert.equal(patched['metadata'].labels.touched, 'yes');
    }
    assert.ok(fake.requests.some((r) => r.method === 'POST' && r.path === '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'));
    assert.ok(fake.requests.some((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/default/replicationcontrollers/rc'));
    // PersistentVolumes are cluster-scoped: no namespace in the input or the path.
    await run('core.createPersistentVolume', {
      body: {
        metadata: { name: 'pv-1' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } },
      },
    });
    assert.ok(fake.get('v1', 'persistentvolumes', undefined, 'pv-1'));
    assert.equal(actions.get(`${K}.core.createPersistentVolume`)!.inputSchema.safeParse({ namespace: 'default', body: {} }).success, false);
    await run('core.deleteServiceAccount', { namespace: 'default', name: 'deployer' });
    assert.equal(fake.get('v1', 'serviceaccounts', 'default', 'deployer'), undefined);
  });

  it('deleteMultiple* is one deletecollection with the selector: only matching objects go; dryRun deletes nothing; output {}', async () => {
    await run('core.createNamespace', { body: { metadata: { name: 'batchy' } } });
    for (const [name, tier] of [
      ['a', 'cache'],
      ['b', 'cache'],
      ['c', 'web'],
    ]) {
      await run('core.createConfigMap', { namespace: 'batchy', body: { metadata: { name, labels: { tier } } } });
    }
    const before = fake.requests.length;
    assert.deepEqual(await run('core.deleteMultipleConfigMaps', { namespace: 'batchy', labelSelector: 'tier=cache', dryRun: 'All' }), {});
    assert.ok(fake.get('v1', 'configmaps', 'batchy', 'a'), 'dry run deleted nothing');
    assert.deepEqual(
      await run('core.deleteMultipleConfigMaps', { namespace: 'batchy', labelSelector: 'tier=cache', propagationPolicy: 'Background' }),
      {},
    );
    const sent = fake.requests.slice(before).map((r) => [r.method, r.path, r.query['labelSelector'], r.contentType]);
    assert.deepEqual(sent, [
      ['DELETE', '/api/v1/namespaces/batchy/configmaps', 'tier=cache', 'application/json'],
      ['DELETE', '/api/v1/namespaces/batchy/configmaps', 'tier=cache', 'application/json'],
    ]);
    assert.deepEqual(
      ['a', 'b', 'c'].map((n) => fake.get('v1', 'configmaps', 'batchy', n) !== undefined),
      [false, false, true],
    );
    // A namespaced deletecollection always names its namespace.
    assert.equal(actions.get(`${K}.core.deleteMultiplePods`)!.inputSchema.safeParse({ labelSelector: 'a=b' }).success, false);
    // Deployments: dependents go with them (Background).
    await run('apps.createDeployment', {
      namespace: 'batchy',
      body: { ...workload('gone', [{ name: 'c', image: 'x' }]), metadata: { name: 'gone', labels: { wave: '1' } } },
    });
    await run('apps.deleteMultipleDeployments', { namespace: 'batchy', labelSelector: 'wave=1' });
    assert.equal(fake.get('apps/v1', 'deployments', 'batchy', 'gone'), undefined);
    assert.equal((await run('apps.listReplicaSet', { namespace: 'batchy' }))['items'].length, 0);
  });

  it('CRDs serve custom objects: namespaced and cluster custom object actions, JSON and merge patches, deleteMultiple', async () => {
    await run('apiextensions.createCustomResourceDefinition', { body: widgetCrd('Namespaced') });
    await run('apiextensions.createCustomResourceDefinition', { body: widgetCrd('Cluster', 'gadgets', 'Gadget') });
    const crds = await run('apiextensions.listCustomResourceDefinition', {});
    assert.deepEqual(crds['items'].map((i: Obj) => i['metadata'].name).sort(), ['gadgets.example.com', 'widgets.example.com']);
    await fails(
      'apiextensions.createCustomResourceDefinition',
      { body: { ...widgetCrd('Namespaced'), metadata: { name: 'wrong.example.com' } } },
      'PAR_ERR_K8S_INVALID',
    );

    const gvr = { group: 'example.com', version: 'v1', plural: 'widgets' };
    const made = await run('customresources.createCustomObject', {
      ...gvr,
      namespace: 'default',
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', labels: { size: 's' } }, spec: { color: 'red' } },
    });
    assert.equal(made['kind'], 'Widget');
    assert.ok(fake.requests.some((r) => r.method === 'POST' && r.path === '/apis/example.com/v1/namespaces/default/widgets'));
    await run('customresources.createCustomObject', {
      ...gvr,
      namespace: 'default',
      body: { kind: 'Widget', metadata: { name: 'w2', labels: { size: 'l' } }, spec: { color: 'blue' } },
    });
    const jsonPatched = await run('customresources.patchCustomObject', {
      ...gvr,
      namespace: 'default',
      name: 'w1',
      body: [{ op: 'replace', path: '/spec/color', value: 'green' }],
    });
    assert.equal(jsonPatched['spec'].color, 'green');
    const merged = await run('customresources.patchCustomObject', {
      ...gvr,
      namespace: 'default',
      name: 'w1',
      body: { spec: { shape: 'round' } },
    });
    assert.deepEqual(merged['spec'], { color: 'green', shape: 'round' });
    assert.equal(fake.requests[fake.requests.length - 1]?.contentType, 'application/merge-patch+json');
    assert.equal(
      actions
        .get(`${K}.customresources.patchCustomObject`)!
        .inputSchema.safeParse({ ...gvr, namespace: 'default', name: 'w1', body: {}, patchType: 'strategic-merge' }).success,
      false,
    );
    const updated = await run('customresources.updateCustomObject', {
      ...gvr,
      namespace: 'default',
      name: 'w1',
      body: { ...merged, spec: { color: 'black' } },
    });
    assert.deepEqual(updated['spec'], { color: 'black' });
    assert.deepEqual(
      (await run('customresources.listCustomObject', { ...gvr, namespace: 'default', labelSelector: 'size=l' }))['items'].map(
        (i: Obj) => i['metadata'].name,
      ),
      ['w2'],
    );
    assert.deepEqual(
      await run('customresources.deleteMultipleCustomObjects', { ...gvr, namespace: 'default', labelSelector: 'size=l' }),
      {},
    );
    await fails('customresources.getCustomObject', { ...gvr, namespace: 'default', name: 'w2' }, 'PAR_ERR_K8S_NOT_FOUND');
    assert.equal((await run('customresources.deleteCustomObject', { ...gvr, namespace: 'default', name: 'w1' }))['metadata'].name, 'w1');

    const cgvr = { group: 'example.com', version: 'v1', plural: 'gadgets' };
    await run('customresources.createClusterCustomObject', { ...cgvr, body: { kind: 'Gadget', metadata: { name: 'g1' } } });
    assert.equal((await run('customresources.getClusterCustomObject', { ...cgvr, name: 'g1' }))['kind'], 'Gadget');
    assert.ok(fake.requests.some((r) => r.path === '/apis/example.com/v1/gadgets/g1'));
    await run('customresources.patchClusterCustomObject', { ...cgvr, name: 'g1', body: { spec: { on: true } } });
    assert.deepEqual(await run('customresources.deleteMultipleClusterCustomObjects', cgvr), {});
    assert.equal((await run('customresources.listClusterCustomObject', cgvr))['items'].length, 0);

    // Deleting the CRD stops serving its resource.
    await run('apiextensions.deleteCustomResourceDefinition', { name: 'widgets.example.com' });
    await fails('customresources.listCustomObject', { ...gvr, namespace: 'default' }, 'PAR_ERR_K8S_NOT_FOUND');
    assert.deepEqual(await run('apiextensions.deleteMultipleCustomResourceDefinitions', {}), {});
    assert.equal((await run('apiextensions.listCustomResourceDefinition', {}))['items'].length, 0);
  });

  it('custom object actions refuse the core group, built-in and reserved groups before any request', async () => {
    const before = fake.requests.length;
    for (const group of ['apps', 'batch', 'rbac.authorization.k8s.io', 'k8s.io', 'x.kubernetes.io', 'policy']) {
      await fails(
        'customresources.listCustomObject',
        { group, version: 'v1', plural: 'secrets', namespace: 'default' },
        'PAR_ERR_INPUT_INVALID',
      );
    }
    const schema = actions.get(`${K}.customresources.getClusterCustomObject`)!.inputSchema;
    for (const bad of [
      { group: '', version: 'v1', plural: 'secrets' },
      { group: 'example.com', version: 'V1', plural: 'widgets' },
      { group: 'example.com', version: 'v1', plural: '../secrets' },
      { group: 'Ex/ample', version: 'v1', plural: 'w' },
    ]) {
      assert.equal(schema.safeParse({ ...bad, name: 'x' }).success, false, JSON.stringify(bad));
    }
    assert.equal(fake.requests.length, before);
  });

  it('scaleDeploymentVertically / scaleStatefulSetVertically: a strategic merge of the named containers keeps their images; an unknown container is refused before patching', async () => {
    await run('apps.createDeployment', {
      namespace: 'default',
      body: workload('api', [
        { name: 'app', image: 'api:1' },
        { name: 'proxy', image: 'envoy:1' },
      ]),
    });
    const out = await run('apps.scaleDeploymentVertically', {
      namespace: 'default',
      name: 'api',
      containerUpdates: [{ containerName: 'app', requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } }],
    });
    assert.deepEqual(Object.keys(out).sort(), ['metadata', 'spec', 'status']);
    const containers = fake.get('apps/v1', 'deployments', 'default', 'api')!['spec'].template.spec.containers;
    assert.deepEqual(containers, [
      { name: 'app', image: 'api:1', resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } } },
      { name: 'proxy', image: 'envoy:1' },
    ]);
    const last = fake.requests[fake.requests.length - 1]!;
    assert.deepEqual([last.method, last.contentType], ['PATCH', 'application/strategic-merge-patch+json']);

    const before = fake.requests.length;
    await fails(
      'apps.scaleDeploymentVertically',
      { namespace: 'default', name: 'api', containerUpdates: [{ containerName: 'sidecar', limits: { cpu: '1' } }] },
      'PAR_ERR_INPUT_INVALID',
    );
    assert.deepEqual(
      fake.requests.slice(before).map((r) => r.method),
      ['GET'],
      'read, then refused: no patch',
    );
    const schema = actions.get(`${K}.apps.scaleDeploymentVertically`)!.inputSchema;
    assert.equal(schema.safeParse({ namespace: 'default', name: 'api', containerUpdates: [] }).success, false);
    assert.equal(
      schema.safeParse({ namespace: 'default', name: 'api', containerUpdates: [{ containerName: 'app', limits: { cpu: 'lots' } }] })
        .success,
      false,
    );

    await run('apps.createStatefulSet', { namespace: 'default', body: workload('db', [{ name: 'pg', image: 'postgres:16' }]) });
    await run('apps.scaleStatefulSetVertically', {
      namespace: 'default',
      name: 'db',
      containerUpdates: [{ containerName: 'pg', requests: { cpu: '2' } }],
    });
    assert.deepEqual(fake.get('apps/v1', 'statefulsets', 'default', 'db')!['spec'].template.spec.containers, [
      { name: 'pg', image: 'postgres:16', resources: { requests: { cpu: '2' } } },
    ]);
    const scaled = await run('apps.scaleStatefulSetHorizontally', { namespace: 'default', name: 'db', replicas: 3 });
    assert.equal(scaled['spec'].replicas, 3);
    assert.equal(fake.requests[fake.requests.length - 1]?.contentType, 'application/merge-patch+json');
    await fails('apps.scaleStatefulSetHorizontally', { namespace: 'default', name: 'nope', replicas: 1 }, 'PAR_ERR_K8S_NOT_FOUND');
  });

  it("updateAutoscalerLimits patches an autoscaling/v2 HPA; the API server's validation comes back as PAR_ERR_K8S_INVALID", async () => {
    fake.seed('autoscaling/v2', 'horizontalpodautoscalers', {
      metadata: { name: 'api', namespace: 'default' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: 5 },
    });
    const out = await run('autoscaling.updateAutoscalerLimits', { namespace: 'default', name: 'api', maxReplicas: 10 });
    assert.deepEqual(Object.keys(out), ['horizontalPodAutoscaler']);
    assert.deepEqual([out['horizontalPodAutoscaler'].spec.minReplicas, out['horizontalPodAutoscaler'].spec.maxReplicas], [2, 10]);
    assert.ok(
      fake.requests.some((r) => r.method === 'PATCH' && r.path === '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/api'),
    );
    await fails('autoscaling.updateAutoscalerLimits', { namespace: 'default', name: 'api', minReplicas: 0 }, 'PAR_ERR_K8S_INVALID');
    const schema = actions.get(`${K}.autoscaling.updateAutoscalerLimits`)!.inputSchema;
    for (const bad of [{}, { minReplicas: -1 }, { maxReplicas: 0 }, { minReplicas: 5, maxReplicas: 3 }])
      assert.equal(schema.safeParse({ namespace: 'default', name: 'api', ...bad }).success, false, JSON.stringify(bad));
  });

  it('updateCronJobSchedule merges schedule, timeZone and suspend; dryRun stores nothing; a bad time zone is PAR_ERR_K8S_INVALID', async () => {
    await run('batch.createCronJob', {
      namespace: 'default',
      body: {
        metadata: { name: 'report' },
        spec: {
          schedule: '0 * * * *',
          suspend: true,
          jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
        },
      },
    });
    const out = await run('batch.updateCronJobSchedule', { namespace: 'default', name: 'report', schedule: '*/15 * * * *' });
    assert.deepEqual([out['cronJob'].spec.schedule, out['cronJob'].spec.suspend], ['*/15 * * * *', true]);
    const dry = await run('batch.updateCronJobSchedule', {
      namespace: 'default',
      name: 'report',
      timeZone: 'America/New_York',
      suspend: false,
      dryRun: 'All',
    });
    assert.deepEqual([dry['cronJob'].spec.timeZone, dry['cronJob'].spec.suspend], ['America/New_York', false]);
    assert.equal(fake.requests[fake.requests.length - 1]?.query['dryRun'], 'All');
    const stored = fake.get('batch/v1', 'cronjobs', 'default', 'report')!;
    assert.deepEqual([stored['spec'].schedule, stored['spec'].timeZone, stored['spec'].suspend], ['*/15 * * * *', undefined, true]);
    await fails(
      'batch.updateCronJobSchedule',
      { namespace: 'default', name: 'report', timeZone: 'Mars/Olympus_Mons' },
      'PAR_ERR_K8S_INVALID',
    );
    assert.equal(
      actions.get(`${K}.batch.updateCronJobSchedule`)!.inputSchema.safeParse({ namespace: 'default', name: 'report' }).success,
      false,
    );
  });
});
