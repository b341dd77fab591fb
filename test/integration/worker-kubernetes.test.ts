/**
 * The Kubernetes bundles against the fake API server (test/fakes/kube-api-server.ts): first
 * directly through the bundle's actions (as the worker calls them), then through a real worker
 * to check codes and retry decisions end to end within the runner.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { createKubernetesBundles, type KubernetesBundle } from '../../src/actions/kubernetes/bundle.js';
import type { ParError } from '../../src/errors/par-error.js';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fakes/kube-api-server.js';
import { tempDir } from '../helpers/tmp.js';
import { newTaskId, silentLogger, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const TOKEN = 'fake-admin-token-0123456789';
const CORE = 'com.datadoghq.kubernetes.core';
const APPS = 'com.datadoghq.kubernetes.apps';
const BATCH = 'com.datadoghq.kubernetes.batch';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function deploymentBody(name: string, image: string): Obj {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } },
    },
  };
}

describe('kubernetes bundles against the fake API server', () => {
  let fake: FakeKubeApiServer;
  let dir: { path: string; remove(): Promise<void> };
  let bundles: KubernetesBundle[];
  let actions: Map<string, RegisteredAction>;

  const connection = (context = 'admin') => ({
    id: 'conn-k8s',
    integration: 'kubernetes',
    settings: { kubeconfigPath: 'kube/config.json', context },
  });
  const ctx = (overrides: Partial<ActionContext> = {}): ActionContext => ({
    signal: new AbortController().signal,
    connection: connection(),
    configDir: dir.path,
    logger: silentLogger,
    limits: { httpMaxResponseBytes: 1024 * 1024 },
    ...overrides,
  });
  /** Validates like the worker does, then runs. */
  const run = async (fqn: string, inputs: unknown, c: ActionContext = ctx()): Promise<Obj> => {
    const action = actions.get(fqn);
    assert.ok(action, `${fqn} is registered`);
    return (await action.run(action.inputSchema.parse(inputs), c)) as Obj;
  };
  const runError = async (fqn: string, inputs: unknown, c?: ActionContext): Promise<ParError> => {
    try {
      await run(fqn, inputs, c);
    } catch (error) {
      return error as ParError;
    }
    assert.fail(`${fqn} should have failed`);
  };

  before(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN });
    dir = await tempDir('k8s');
    await mkdir(join(dir.path, 'kube'));
    await writeFile(
      join(dir.path, 'kube/config.json'),
      fake.kubeconfig([
        { name: 'admin', token: TOKEN },
        { name: 'intruder', token: 'wrong-token' },
      ]),
    );
    bundles = createKubernetesBundles();
    actions = new Map(bundles.flatMap((b) => b.actions).map((a) => [a.fqn, a]));
  });
  after(async () => {
    await Promise.all(bundles.map((b) => b.close()));
    await fake.close();
    await dir.remove();
  });

  it('create then list and get see the object (namespace, configmap, pod)', async () => {
    const ns = await run(`${CORE}.createNamespace`, { body: { metadata: { name: 'team-a' } } });
    assert.equal(ns['kind'], 'Namespace');
    assert.ok(ns['metadata'].uid);
    const cm = await run(`${CORE}.createConfigMap`, {
      namespace: 'team-a',
      body: { metadata: { name: 'settings', labels: { tier: 'web' } }, data: { a: '1' } },
    });
    assert.equal(cm['metadata'].namespace, 'team-a');
    assert.match(cm['metadata'].resourceVersion, /^\d+$/);
    const list = await run(`${CORE}.listConfigMap`, { namespace: 'team-a', labelSelector: 'tier in (web,api)' });
    assert.equal(list['kind'], 'ConfigMapList');
    assert.deepEqual(
      list['items'].map((i: Obj) => i['metadata'].name),
      ['settings'],
    );
    const none = await run(`${CORE}.listConfigMap`, { namespace: 'team-a', labelSelector: 'tier!=web' });
    assert.equal(none['items'].length, 0);
    const got = await run(`${CORE}.getConfigMap`, { namespace: 'team-a', name: 'settings' });
    assert.deepEqual(got['data'], { a: '1' });
    await run(`${CORE}.createPod`, {
      namespace: 'team-a',
      body: { metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const all = await run(`${CORE}.listPod`, {});
    assert.ok(
      all['items'].some((p: Obj) => p['metadata'].name === 'p1' && p['metadata'].namespace === 'team-a'),
      'listed across namespaces',
    );
  });

  it('lists page by page with limit and continue, and filter by fieldSelector', async () => {
    for (const n of ['x1', 'x2', 'x3']) await run(`${CORE}.createConfigMap`, { namespace: 'default', body: { metadata: { name: n } } });
    const first = await run(`${CORE}.listConfigMap`, { namespace: 'default', limit: 2 });
    assert.equal(first['items'].length, 2);
    assert.ok(first['metadata'].continue);
    const second = await run(`${CORE}.listConfigMap`, { namespace: 'default', limit: 2, continue: first['metadata'].continue });
    assert.deepEqual(
      second['items'].map((i: Obj) => i['metadata'].name),
      ['x3'],
    );
    const byName = await run(`${CORE}.listConfigMap`, { namespace: 'default', fieldSelector: 'metadata.name=x2' });
    assert.deepEqual(
      byName['items'].map((i: Obj) => i['metadata'].name),
      ['x2'],
    );
  });

  it('404, 409 and 422 come back as non-retryable codes with the API server message', async () => {
    const missing = await runError(`${CORE}.getPod`, { namespace: 'default', name: 'ghost' });
    assert.equal(missing.code, 'PAR_ERR_K8S_NOT_FOUND');
    assert.equal(missing.retryable, false);
    assert.match(missing.message, /pods "ghost" not found/);

    await run(`${CORE}.createConfigMap`, { namespace: 'default', body: { metadata: { name: 'dup' } } });
    const dup = await runError(`${CORE}.createConfigMap`, { namespace: 'default', body: { metadata: { name: 'dup' } } });
    assert.equal(dup.code, 'PAR_ERR_K8S_CONFLICT');
    assert.equal(dup.retryable, false);
    assert.match(dup.message, /AlreadyExists/);

    const unnamed = await runError(`${CORE}.createConfigMap`, { namespace: 'default', body: { data: { a: '1' } } });
    assert.equal(unnamed.code, 'PAR_ERR_K8S_INVALID');
    assert.equal(unnamed.retryable, false);
    assert.match(unnamed.message, /metadata\.name: Required value/);

    const stale = await runError(`${CORE}.updateConfigMap`, {
      namespace: 'default',
      name: 'dup',
      body: { metadata: { name: 'dup', resourceVersion: '1' }, data: { b: '2' } },
    });
    assert.equal(stale.code, 'PAR_ERR_K8S_CONFLICT');
  });

  it('429 and 5xx are retryable', async () => {
    fake.failNext(503);
    const unavailable = await runError(`${CORE}.listPod`, { namespace: 'default' });
    assert.equal(unavailable.code, 'PAR_ERR_K8S_STATUS_RETRYABLE');
    assert.equal(unavailable.retryable, true);
    fake.failNext(429);
    assert.equal((await runError(`${CORE}.listPod`, { namespace: 'default' })).retryable, true);
  });

  it('update replaces the object; JSON Patch and merge patch change it', async () => {
    const cm = await run(`${CORE}.createConfigMap`, { namespace: 'default', body: { metadata: { name: 'edit-me' }, data: { a: '1' } } });
    const updated = await run(`${CORE}.updateConfigMap`, {
      namespace: 'default',
      name: 'edit-me',
      body: { metadata: { name: 'edit-me', resourceVersion: cm['metadata'].resourceVersion }, data: { a: '2' } },
    });
    assert.deepEqual(updated['data'], { a: '2' });
    const jsonPatched = await run(`${CORE}.patchConfigMap`, {
      namespace: 'default',
      name: 'edit-me',
      body: [{ op: 'add', path: '/data/b', value: '3' }],
    });
    assert.deepEqual(jsonPatched['data'], { a: '2', b: '3' });
    const merged = await run(`${CORE}.patchConfigMap`, {
      namespace: 'default',
      name: 'edit-me',
      body: { data: { a: null } },
      patchType: 'merge',
    });
    assert.deepEqual(merged['data'], { b: '3' });
    assert.equal(fake.requests.at(-1)?.contentType, 'application/merge-patch+json');
    const badPatch = await runError(`${CORE}.patchConfigMap`, {
      namespace: 'default',
      name: 'edit-me',
      body: [{ op: 'replace', path: '/data/zzz/y', value: 'v' }],
    });
    assert.equal(badPatch.code, 'PAR_ERR_K8S_INVALID');
  });

  it('dryRun validates on the server but stores nothing (create, patch, delete)', async () => {
    const created = await run(`${CORE}.createConfigMap`, { namespace: 'default', body: { metadata: { name: 'dry' } }, dryRun: 'All' });
    assert.equal(created['metadata'].name, 'dry');
    assert.equal(fake.requests.at(-1)?.query['dryRun'], 'All');
    assert.equal(fake.get('v1', 'configmaps', 'default', 'dry'), undefined);
    assert.equal((await runError(`${CORE}.getConfigMap`, { namespace: 'default', name: 'dry' })).code, 'PAR_ERR_K8S_NOT_FOUND');

    await run(`${CORE}.createConfigMap`, { namespace: 'default', body: { metadata: { name: 'keep' }, data: { a: '1' } } });
    await run(`${CORE}.patchConfigMap`, { namespace: 'default', name: 'keep', body: { data: { a: '9' } }, dryRun: true });
    assert.deepEqual(fake.get('v1', 'configmaps', 'default', 'keep')?.['data'], { a: '1' });
    await run(`${CORE}.deleteConfigMap`, { namespace: 'default', name: 'keep', dryRun: true });
    assert.ok(fake.get('v1', 'configmaps', 'default', 'keep'));
    const deleted = await run(`${CORE}.deleteConfigMap`, {
      namespace: 'default',
      name: 'keep',
      gracePeriodSeconds: 0,
      propagationPolicy: 'Background',
    });
    assert.equal(deleted['metadata'].name, 'keep');
    assert.equal(fake.requests.at(-1)?.query['propagationPolicy'], 'Background');
    assert.equal(fake.get('v1', 'configmaps', 'default', 'keep'), undefined);
  });

  it('returns pod logs as text', async () => {
    await run(`${CORE}.createPod`, {
      namespace: 'default',
      body: { metadata: { name: 'logger' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
    });
    fake.setPodLog('default', 'logger', 'line 1\nline 2\nline 3\n');
    assert.deepEqual(await run(`${CORE}.getPodLogs`, { namespace: 'default', name: 'logger' }), { logs: 'line 1\nline 2\nline 3\n' });
    assert.deepEqual(await run(`${CORE}.getPodLogs`, { namespace: 'default', name: 'logger', tailLines: 1 }), { logs: 'line 3\n' });
    assert.equal((await runError(`${CORE}.getPodLogs`, { namespace: 'default', name: 'nobody' })).code, 'PAR_ERR_K8S_NOT_FOUND');
  });

  it('restartDeployment sets the restartedAt annotation; scaleDeployment changes replicas', async () => {
    await run(`${APPS}.createDeployment`, { namespace: 'default', body: deploymentBody('web', 'nginx:1.25') });
    const before = Date.now() - 1000;
    const restarted = await run(`${APPS}.restartDeployment`, { namespace: 'default', name: 'web' });
    const at = restarted['spec'].template.metadata.annotations['kubectl.kubernetes.io/restartedAt'];
    assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Date.parse(at) >= before && Date.parse(at) <= Date.now() + 1000);
    assert.equal(fake.requests.at(-1)?.contentType, 'application/strategic-merge-patch+json');
    const scaled = await run(`${APPS}.scaleDeployment`, { namespace: 'default', name: 'web', replicas: 5 });
    assert.equal(scaled['spec'].replicas, 5);
    assert.equal(fake.get('apps/v1', 'deployments', 'default', 'web')?.['spec'].replicas, 5);
  });

  it("rollbackDeployment restores the previous revision's pod template, as kubectl rollout undo does", async () => {
    await run(`${APPS}.createDeployment`, { namespace: 'default', body: deploymentBody('api', 'api:1') });
    const noHistory = await runError(`${APPS}.rollbackDeployment`, { namespace: 'default', name: 'api' });
    assert.equal(noHistory.code, 'PAR_ERR_K8S_ROLLBACK_UNAVAILABLE');
    await run(`${APPS}.patchDeployment`, {
      namespace: 'default',
      name: 'api',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'api:2' }],
    });
    const rs = await run(`${APPS}.listReplicaSet`, { namespace: 'default', labelSelector: 'app=api' });
    assert.equal(rs['items'].length, 2, 'the fake controller made one ReplicaSet per template');
    const rolled = await run(`${APPS}.rollbackDeployment`, { namespace: 'default', name: 'api' });
    assert.equal(rolled['spec'].template.spec.containers[0].image, 'api:1');
    assert.equal(rolled['spec'].template.metadata.labels['pod-template-hash'], undefined);
    assert.equal(rolled['metadata'].annotations['deployment.kubernetes.io/revision'], '3');
    const again = await run(`${APPS}.rollbackDeployment`, { namespace: 'default', name: 'api' });
    assert.equal(again['spec'].template.spec.containers[0].image, 'api:2');
    const toFirst = await run(`${APPS}.rollbackDeployment`, { namespace: 'default', name: 'api', toRevision: 3 });
    assert.equal(toFirst['spec'].template.spec.containers[0].image, 'api:1');
  });

  it('batch jobs and cron jobs round-trip', async () => {
    await run(`${BATCH}.createCronJob`, {
      namespace: 'default',
      body: { metadata: { name: 'nightly' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: {} } } },
    });
    const list = await run(`${BATCH}.listCronJob`, { namespace: 'default' });
    assert.deepEqual(
      list['items'].map((i: Obj) => i['metadata'].name),
      ['nightly'],
    );
    await run(`${BATCH}.deleteCronJob`, { namespace: 'default', name: 'nightly' });
    assert.equal((await run(`${BATCH}.listJob`, { namespace: 'default' }))['items'].length, 0);
  });

  it('a kubeconfig context with a wrong token fails clearly and is not retried', async () => {
    const err = await runError(`${CORE}.listPod`, { namespace: 'default' }, ctx({ connection: connection('intruder') }));
    assert.equal(err.code, 'PAR_ERR_K8S_UNAUTHORIZED');
    assert.equal(err.retryable, false);
    assert.ok(!err.message.includes('wrong-token'), 'the token never appears in the message');
    const unknown = await runError(`${CORE}.listPod`, { namespace: 'default' }, ctx({ connection: connection('nope') }));
    assert.equal(unknown.code, 'PAR_ERR_K8S_CONFIG_INVALID');
    assert.match(unknown.message, /no context named "nope"/);
  });

  it('a kubeconfigPath outside the config dir is refused before any request', async () => {
    const count = fake.requests.length;
    const err = await runError(
      `${CORE}.listPod`,
      {},
      ctx({ connection: { id: 'c', integration: 'kubernetes', settings: { kubeconfigPath: '../../etc/passwd' } } }),
    );
    assert.equal(err.code, 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR');
    assert.equal(fake.requests.length, count);
  });

  it('without a kubeconfigPath it needs the in-cluster service account; other integrations are refused', async () => {
    const wrong = await runError(`${CORE}.listPod`, {}, ctx({ connection: { id: 'h', integration: 'http' } }));
    assert.equal(wrong.code, 'PAR_ERR_K8S_CONFIG_INVALID');
    // Outside a cluster by construction, even when the tests themselves run in one.
    const saved = process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_HOST'];
    try {
      const outside = await runError(`${CORE}.listPod`, {}, ctx({ connection: undefined }));
      assert.equal(outside.code, 'PAR_ERR_K8S_CONFIG_INVALID');
      assert.match(outside.message, /not running in a cluster/);
    } finally {
      if (saved !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = saved;
    }
  });

  it('picks up an edited kubeconfig (cached per file version)', async () => {
    const path = join(dir.path, 'kube/rotating.json');
    await writeFile(path, fake.kubeconfig([{ name: 'a', token: 'stale' }]));
    // Back-date the first version, so the edit below has another mtime even on a coarse clock.
    const past = new Date(Date.now() - 60_000);
    await utimes(path, past, past);
    const c = ctx({ connection: { id: 'c', integration: 'kubernetes', settings: { kubeconfigPath: 'kube/rotating.json' } } });
    assert.equal((await runError(`${CORE}.listNamespace`, {}, c)).code, 'PAR_ERR_K8S_UNAUTHORIZED');
    await writeFile(path, fake.kubeconfig([{ name: 'a', token: TOKEN }]));
    const list = await run(`${CORE}.listNamespace`, {}, c);
    assert.ok(list['items'].some((n: Obj) => n['metadata'].name === 'default'));
  });

  it('the task signal stops a request in flight with PAR_ERR_TASK_CANCELLED', async () => {
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(
      (await runError(`${CORE}.listPod`, { namespace: 'default' }, ctx({ signal: aborted.signal }))).code,
      'PAR_ERR_TASK_CANCELLED',
    );

    fake.stallNext();
    const started = Date.now();
    const err = await runError(`${CORE}.listPod`, { namespace: 'default' }, ctx({ signal: AbortSignal.timeout(100) }));
    assert.equal(err.code, 'PAR_ERR_TASK_CANCELLED');
    assert.ok(Date.now() - started < 2_000, 'returned promptly after the abort');
  });

  it('a refused connection is retryable', async () => {
    const closed = await startFakeKubeApiServer();
    const cfg = closed.kubeconfig([{ name: 'x' }]);
    await closed.close();
    await writeFile(join(dir.path, 'kube/closed.json'), cfg);
    const err = await runError(
      `${CORE}.listPod`,
      {},
      ctx({ connection: { id: 'c', integration: 'kubernetes', settings: { kubeconfigPath: 'kube/closed.json' } } }),
    );
    assert.equal(err.code, 'PAR_ERR_K8S_CONNECT');
    assert.equal(err.retryable, true);
  });
});

describe('worker: kubernetes actions', () => {
  let fake: FakeKubeApiServer;
  let h: WorkerHarness;
  const connection = { id: 'conn-1', integration: 'kubernetes', settings: { kubeconfigPath: 'kubeconfig.yaml', context: 'ops' } };

  before(async () => {
    fake = await startFakeKubeApiServer({ token: TOKEN });
    h = await startWorkerHarness('worker-k8s', {
      identityAllowlist: ['com.datadoghq.kubernetes.core.*', 'com.datadoghq.kubernetes.apps.*'],
    });
    await writeFile(join(h.configDir, 'kubeconfig.yaml'), fake.kubeconfig([{ name: 'ops', token: TOKEN }]));
  });
  after(async () => {
    await h.close();
    await fake.close();
  });

  it('runs createConfigMap then listConfigMap through the worker', async () => {
    const create = newTaskId();
    await h.submit({
      sub: create,
      action: `${CORE}.createConfigMap`,
      connection,
      inputs: { namespace: 'default', body: { metadata: { name: 'from-worker' }, data: { k: 'v' } } },
    });
    const created = await h.waitResult(create);
    assert.equal(created.kind, 'succeeded', JSON.stringify(created.error));
    const list = newTaskId();
    await h.submit({ sub: list, action: `${CORE}.listConfigMap`, connection, inputs: { namespace: 'default' } });
    const listed = await h.waitResult(list);
    assert.equal(listed.kind, 'succeeded', JSON.stringify(listed.error));
    assert.deepEqual(
      (listed.output as Obj)['items'].map((i: Obj) => i['metadata'].name),
      ['from-worker'],
    );
  });

  it('a 404 fails once, not retried; invalid inputs never reach the API server', async () => {
    const id = newTaskId();
    await h.submit({ sub: id, action: `${APPS}.getDeployment`, connection, inputs: { namespace: 'default', name: 'absent' } });
    const outcome = await h.waitResult(id);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.error?.code, 'PAR_ERR_K8S_NOT_FOUND');
    assert.equal(outcome.attempts, 1);

    const count = fake.requests.length;
    const bad = newTaskId();
    await h.submit({ sub: bad, action: `${CORE}.getPod`, connection, inputs: { namespace: 'Not_A_Namespace', name: '../secrets' } });
    const rejected = await h.waitResult(bad);
    assert.equal(rejected.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.equal(fake.requests.length, count);
  });

  it('a 503 is retried and then succeeds', async () => {
    fake.failNext(503, 1);
    const id = newTaskId();
    await h.submit({ sub: id, action: `${CORE}.listNamespace`, connection, inputs: {} });
    const outcome = await h.waitResult(id, 10_000);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.equal(outcome.attempts, 2);
  });
});
