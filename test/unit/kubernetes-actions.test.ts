import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Allowlist } from '../../src/actions/allowlist.js';
import { createKubernetesBundles } from '../../src/actions/kubernetes/bundle.js';
import { classifyKubeError, codeForStatus, statusError } from '../../src/actions/kubernetes/classify.js';
import { buildCrudRequest } from '../../src/actions/kubernetes/crud-actions.js';
import { pickRevision, rollbackPatch, selectorString } from '../../src/actions/kubernetes/deployment-actions.js';
import { crudInputSchema, podLogsInputSchema, scaleDeploymentInputSchema } from '../../src/actions/kubernetes/inputs.js';
import { resourceByKind, resourcePath } from '../../src/actions/kubernetes/resources.js';
import { createActionRegistry } from '../../src/actions/registry.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { ParError } from '../../src/errors/par-error.js';

const fqns = () => createKubernetesBundles().flatMap((b) => b.actions.map((a) => a.fqn));

describe('kubernetes action table', () => {
  it('generates the vendor FQNs for every kind and verb it allows', () => {
    const names = new Set(fqns());
    for (const kind of ['Pod', 'Service', 'Namespace', 'ConfigMap']) {
      for (const verb of ['list', 'get', 'create', 'update', 'patch', 'delete'])
        assert.ok(names.has(`com.datadoghq.kubernetes.core.${verb}${kind}`), `${verb}${kind}`);
    }
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'])
      assert.ok(names.has(`com.datadoghq.kubernetes.apps.patch${kind}`));
    for (const kind of ['Job', 'CronJob']) assert.ok(names.has(`com.datadoghq.kubernetes.batch.create${kind}`));
    for (const extra of [
      'core.listNode',
      'core.getNode',
      'core.listEvent',
      'core.getEvent',
      'core.getPodLogs',
      'apps.restartDeployment',
      'apps.scaleDeployment',
      'apps.rollbackDeployment',
    ]) {
      assert.ok(names.has(`com.datadoghq.kubernetes.${extra}`), extra);
    }
    assert.ok(names.has('com.datadoghq.kubernetes.core.listPod'), 'the seed allowlist example');
  });

  it('nodes and events are read-only', () => {
    const names = new Set(fqns());
    for (const verb of ['create', 'update', 'patch', 'delete']) {
      assert.equal(names.has(`com.datadoghq.kubernetes.core.${verb}Node`), false);
      assert.equal(names.has(`com.datadoghq.kubernetes.core.${verb}Event`), false);
    }
  });

  it('registers the three bundles in the worker registry with no duplicate', async () => {
    const registry = createActionRegistry();
    try {
      assert.equal(new Set(fqns()).size, fqns().length);
      for (const fqn of fqns()) assert.ok(registry.get(fqn), fqn);
    } finally {
      await registry.close();
    }
  });

  it('`bundle.*` in the allowlist admits a whole Kubernetes bundle and nothing of the others', () => {
    const list = new Allowlist(['com.datadoghq.kubernetes.core.*']);
    assert.equal(list.allows('com.datadoghq.kubernetes.core.listPod'), true);
    assert.equal(list.allows('com.datadoghq.kubernetes.apps.listDeployment'), false);
  });

  it('builds paths for namespaced, cluster-wide and cross-namespace requests', () => {
    assert.equal(resourcePath(resourceByKind('Pod'), { namespace: 'ns', name: 'p' }), '/api/v1/namespaces/ns/pods/p');
    assert.equal(resourcePath(resourceByKind('Pod'), {}), '/api/v1/pods');
    assert.equal(resourcePath(resourceByKind('Namespace'), { name: 'ns' }), '/api/v1/namespaces/ns');
    assert.equal(resourcePath(resourceByKind('Deployment'), { namespace: 'a' }), '/apis/apps/v1/namespaces/a/deployments');
    assert.equal(resourcePath(resourceByKind('CronJob'), { namespace: 'a', name: 'c' }), '/apis/batch/v1/namespaces/a/cronjobs/c');
    assert.equal(resourcePath(resourceByKind('Pod'), { namespace: 'a', name: 'p', subresource: 'log' }), '/api/v1/namespaces/a/pods/p/log');
  });

  it('maps inputs to the API: dryRun=All, patch content types, type meta on create', () => {
    const cm = resourceByKind('ConfigMap');
    const create = buildCrudRequest(cm, 'create', { namespace: 'a', body: { metadata: { name: 'x' } }, dryRun: true });
    assert.deepEqual(create.query, { dryRun: 'All', fieldManager: undefined });
    assert.deepEqual(create.body, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    assert.equal(buildCrudRequest(cm, 'patch', { namespace: 'a', name: 'x', body: [] }).contentType, 'application/json-patch+json');
    assert.equal(
      buildCrudRequest(cm, 'patch', { namespace: 'a', name: 'x', body: {} }).contentType,
      'application/strategic-merge-patch+json',
    );
    assert.equal(
      buildCrudRequest(cm, 'patch', { namespace: 'a', name: 'x', body: {}, patchType: 'merge' }).contentType,
      'application/merge-patch+json',
    );
    const update = buildCrudRequest(cm, 'update', { namespace: 'a', name: 'x', body: { data: {} } });
    assert.deepEqual(update.body, { apiVersion: 'v1', kind: 'ConfigMap', data: {}, metadata: { name: 'x' } });
    const del = buildCrudRequest(cm, 'delete', { namespace: 'a', name: 'x', gracePeriodSeconds: 0, propagationPolicy: 'Foreground' });
    assert.deepEqual([del.method, del.query], ['DELETE', { gracePeriodSeconds: 0, propagationPolicy: 'Foreground' }]);
  });
});

describe('kubernetes input schemas', () => {
  it('require a namespace for namespaced kinds except list, and none for cluster kinds', () => {
    assert.equal(crudInputSchema('get', true).safeParse({ name: 'x' }).success, false);
    assert.equal(crudInputSchema('list', true).safeParse({}).success, true);
    assert.equal(crudInputSchema('get', false).safeParse({ name: 'x', namespace: 'a' }).success, false, 'unknown fields are refused');
  });

  it('refuse names and namespaces that could steer the path', () => {
    for (const name of ['../x', 'a/b', 'UPPER', '', 'x?y'])
      assert.equal(crudInputSchema('get', true).safeParse({ namespace: 'a', name }).success, false, name);
    assert.equal(crudInputSchema('get', true).safeParse({ namespace: 'a.b', name: 'x' }).success, false);
  });

  it('normalise dryRun and check patch shapes', () => {
    const create = crudInputSchema('create', true);
    assert.equal((create.parse({ namespace: 'a', body: {}, dryRun: 'All' }) as { dryRun: boolean }).dryRun, true);
    assert.equal((create.parse({ namespace: 'a', body: {}, dryRun: false }) as { dryRun: boolean }).dryRun, false);
    assert.equal(create.safeParse({ namespace: 'a', body: {}, dryRun: 'Some' }).success, false);
    const patch = crudInputSchema('patch', true);
    assert.equal(patch.safeParse({ namespace: 'a', name: 'x', body: [{ op: 'add', path: '/a', value: 1 }] }).success, true);
    assert.equal(patch.safeParse({ namespace: 'a', name: 'x', body: [{ op: 'frob', path: '/a' }] }).success, false);
    assert.equal(patch.safeParse({ namespace: 'a', name: 'x', body: { a: 1 }, patchType: 'json' }).success, false);
    assert.equal(crudInputSchema('delete', true).safeParse({ namespace: 'a', name: 'x', propagationPolicy: 'Later' }).success, false);
    assert.equal(crudInputSchema('list', true).safeParse({ limit: 0 }).success, false);
    assert.equal(scaleDeploymentInputSchema.safeParse({ namespace: 'a', name: 'x', replicas: -1 }).success, false);
    assert.equal(podLogsInputSchema.safeParse({ namespace: 'a', name: 'x', tailLines: 10 }).success, true);
  });
});

describe('kubernetes error classification', () => {
  it('404/409/422/400/401/403 are final; 429 and 5xx retryable', () => {
    const cases: Array<[number, string, boolean]> = [
      [400, 'PAR_ERR_K8S_INVALID', false],
      [422, 'PAR_ERR_K8S_INVALID', false],
      [401, 'PAR_ERR_K8S_UNAUTHORIZED', false],
      [403, 'PAR_ERR_K8S_FORBIDDEN', false],
      [404, 'PAR_ERR_K8S_NOT_FOUND', false],
      [409, 'PAR_ERR_K8S_CONFLICT', false],
      [429, 'PAR_ERR_K8S_STATUS_RETRYABLE', true],
      [500, 'PAR_ERR_K8S_STATUS_RETRYABLE', true],
      [503, 'PAR_ERR_K8S_STATUS_RETRYABLE', true],
      [418, 'PAR_ERR_K8S_STATUS', false],
    ];
    for (const [status, code, retryable] of cases) {
      assert.equal(codeForStatus(status), code, String(status));
      assert.equal(ERROR_CODES[codeForStatus(status)].retryable, retryable, String(status));
    }
  });

  it('carries the Status message and reason, or the status alone for a non-Status body', () => {
    const body = JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: 'pods "x" not found',
      reason: 'NotFound',
      code: 404,
    });
    assert.match(statusError(404, body, 'GET /api/v1/namespaces/a/pods/x').message, /NotFound: pods "x" not found \(HTTP 404\)/);
    assert.match(statusError(502, '<html>bad gateway</html>', 'GET /x').message, /status 502/);
  });

  it('connection errors are retryable, TLS trust errors and aborts are not', () => {
    const signal = new AbortController().signal;
    const refused = classifyKubeError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), { target: 't', signal });
    assert.deepEqual([refused.code, refused.retryable], ['PAR_ERR_K8S_CONNECT', true]);
    const tls = classifyKubeError(Object.assign(new Error('tls'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), { target: 't', signal });
    assert.deepEqual([tls.code, tls.retryable], ['PAR_ERR_K8S_CONNECT', false]);
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(classifyKubeError(new Error('AbortError'), { target: 't', signal: aborted.signal }).code, 'PAR_ERR_TASK_CANCELLED');
    const own = new ParError('PAR_ERR_K8S_NOT_FOUND');
    assert.equal(classifyKubeError(own, { target: 't', signal }), own);
  });
});

describe('rollback helpers (kubectl rollout undo)', () => {
  const rs = (revision: string, image: string, extra: Record<string, string> = {}) => ({
    metadata: { annotations: { 'deployment.kubernetes.io/revision': revision, ...extra } },
    spec: { template: { metadata: { labels: { app: 'a', 'pod-template-hash': `h${revision}` } }, spec: { image } } },
  });

  it('picks the highest revision below the latest, or the one asked for', () => {
    const sets = [rs('1', 'i1'), rs('3', 'i3'), rs('2', 'i2')];
    assert.equal(pickRevision(sets, 0), sets[2]);
    assert.equal(pickRevision(sets, 1), sets[0]);
    assert.equal(pickRevision(sets, 7), undefined);
    assert.equal(pickRevision([rs('1', 'i1')], 0), undefined);
  });

  it('replaces the template (without pod-template-hash) and the annotations like kubectl', () => {
    const deployment = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '3', team: 'x' } } };
    const patch = rollbackPatch(deployment, rs('2', 'i2', { team: 'y', 'deployment.kubernetes.io/revision-history': '1' }));
    assert.deepEqual(patch, [
      { op: 'replace', path: '/spec/template', value: { metadata: { labels: { app: 'a' } }, spec: { image: 'i2' } } },
      { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '3', team: 'y' } },
    ]);
  });

  it('turns a selector object into the query form', () => {
    assert.equal(
      selectorString({
        matchLabels: { app: 'a' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['w', 'x'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      }),
      'app=a,tier in (w,x),!canary',
    );
  });
});
