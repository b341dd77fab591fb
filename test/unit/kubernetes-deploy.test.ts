/**
 * deploy/kubernetes (issue 11), rendered here by `kubectl kustomize` (no cluster, no Helm) and
 * every object validated against the Kubernetes OpenAPI schemas (kubernetes-models: types,
 * required fields, enums). Then what an operator relies on: probes run `par healthcheck`, every
 * container has requests and limits, drains fit the termination grace, Redis keeps its data, the
 * workers' Role is what the allowlist needs (rbac.ts) and an overlay from -f k8s renders.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are untyped YAML; the assertions check their shape */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { Allowlist } from '../../src/actions/allowlist.js';
import { createKubernetesBundles } from '../../src/actions/kubernetes/bundle.js';
import { kubernetesActionNeeds, rbacForAllowlist, UNRESOLVABLE_BUNDLE } from '../../src/actions/kubernetes/rbac.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { decodeIdentity } from '../../src/lib/identity-file.js';
import { formatKubernetesOverlay } from '../../src/runner/k8s-overlay.js';
import { ABORT_WINDOW_MS } from '../../workers/main.js';
import { makeIdentity } from '../integration/worker-harness.js';
import { tempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BASE = join(root, 'deploy', 'kubernetes');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

async function render(dir: string): Promise<K8sObject[]> {
  const { stdout } = await promisify(execFile)('kubectl', ['kustomize', dir], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o) => o !== null);
}

/** Validates one object with the kubernetes-models class of its apiVersion/kind (fails when none exists). */
async function validate(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  const loaded = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = loaded[obj.kind];
  assert.ok(Model, `${module} exports ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (error) {
    assert.fail(`${obj.kind}/${obj.metadata.name} does not match the Kubernetes schema: ${(error as Error).message}`);
  }
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject & Record<string, any> {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found as K8sObject & Record<string, any>;
}

const KNOWN_ACTIONS = createKubernetesBundles().flatMap((b) => b.actions.map((a) => a.fqn));

describe('deploy/kubernetes', () => {
  it('renders with kubectl kustomize and every object matches the Kubernetes schemas', async () => {
    const objects = await render(BASE);
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    for (const expected of [
      'Deployment/par-runner',
      'Deployment/par-worker',
      'StatefulSet/par-redis',
      'Service/par-redis',
      'HorizontalPodAutoscaler/par-worker',
      'PodDisruptionBudget/par-worker',
      'Secret/par-runner-identity',
      'ServiceAccount/par-worker',
      'ServiceAccount/par-runner',
      'Role/par-worker-kubernetes-actions',
      'RoleBinding/par-worker-kubernetes-actions',
      'ConfigMap/par-settings',
    ]) {
      assert.ok(kinds.includes(expected), `${expected} in ${kinds.join(', ')}`);
    }
    for (const obj of objects) await validate(obj);
    // The validator is not a no-op: a wrong type is refused.
    const broken = structuredClone(find(objects, 'Deployment', 'par-worker'));
    broken['spec'].replicas = 'two';
    await assert.rejects(validate(broken), /does not match the Kubernetes schema/);
    for (const obj of objects)
      if (obj.kind !== 'Namespace' && !obj.kind.startsWith('Cluster'))
        assert.equal(obj.metadata.namespace, 'private-action-runner', `${obj.kind}/${obj.metadata.name}`);
  });

  it('probes run `par healthcheck <role>`; containers have requests and limits; grace periods outlast the drains', async () => {
    const objects = await render(BASE);
    const workerConfig = loadWorkerConfig({});
    for (const [name, role, grace] of [
      ['par-runner', 'runner', 20_000 + 5_000],
      ['par-worker', 'worker', workerConfig.graceMs + ABORT_WINDOW_MS + 5_000],
    ] as const) {
      const pod = find(objects, 'Deployment', name)['spec'].template.spec;
      const container = pod.containers[0];
      assert.deepEqual(container.args, [role]);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const cmd = container[probe]?.exec?.command as string[] | undefined;
        assert.ok(cmd, `${name} has a ${probe}`);
        assert.deepEqual(cmd.slice(0, 4), ['node', '/app/bin/par.js', 'healthcheck', role], `${name} ${probe}`);
      }
      assert.ok(
        pod.terminationGracePeriodSeconds * 1000 >= grace,
        `${name}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} vs drain ${grace} ms`,
      );
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(pod.securityContext.runAsNonRoot, true);
    }
    const worker = find(objects, 'Deployment', 'par-worker')['spec'].template.spec.containers[0];
    const env = Object.fromEntries((worker.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    assert.equal(env['PAR_WORKER_LIVENESS_FILE'], '/tmp/par-worker.alive', 'the worker writes the file its probe reads');
    assert.ok(
      !('PAR_ENROLLMENT_TOKEN' in env) && !(worker.envFrom ?? []).some((e: { secretRef?: unknown }) => e.secretRef),
      'workers get the identity only, never the whole runner Secret',
    );
    for (const obj of objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))) {
      for (const c of (obj as any).spec.template.spec.containers) {
        assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${obj.metadata.name}/${c.name} requests cpu and memory`);
        assert.ok(c.resources?.limits?.memory, `${obj.metadata.name}/${c.name} has a memory limit`);
      }
    }
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'par-worker');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa['spec'].scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'par-worker' });
    assert.equal(hpa['spec'].metrics[0].resource.name, 'cpu');
    const redis = find(objects, 'StatefulSet', 'par-redis')['spec'];
    const args = (redis.template.spec.containers[0].args as string[]).join(' ');
    assert.match(args, /--appendonly yes/);
    assert.match(args, /--maxmemory-policy noeviction/);
    assert.ok(redis.volumeClaimTemplates?.length === 1, 'Redis data on a persistent volume');
    const settings = find(objects, 'ConfigMap', 'par-settings')['data'];
    assert.equal(new URL(settings.REDIS_URL).hostname, find(objects, 'Service', 'par-redis').metadata.name);
    const binding = find(objects, 'RoleBinding', 'par-worker-kubernetes-actions');
    assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'par-worker', namespace: 'private-action-runner' }]);
    assert.equal(find(objects, 'ServiceAccount', 'par-runner')['automountServiceAccountToken'], false);
  });
});

describe('RBAC from the allowlist (src/actions/kubernetes/rbac.ts)', () => {
  it('getPod + listPod: get and list on pods, nothing else', () => {
    const rbac = rbacForAllowlist(
      new Allowlist(['com.datadoghq.kubernetes.core.getPod', 'com.datadoghq.kubernetes.core.listPod', 'com.datadoghq.http.request']),
      KNOWN_ACTIONS,
    );
    assert.deepEqual(rbac, {
      namespaced: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      clusterScoped: [],
      unresolved: [],
    });
  });

  it('hand-written actions map to the calls they make; cluster-scoped kinds go to the ClusterRole; custom resources are reported', () => {
    const rbac = rbacForAllowlist(
      new Allowlist([
        'com.datadoghq.kubernetes.apps.rollbackDeployment',
        'com.datadoghq.kubernetes.core.getPodLogs',
        'com.datadoghq.kubernetes.core.listNode',
        'com.datadoghq.kubernetes.core.deleteMultiplePods',
        'com.datadoghq.kubernetes.customresources.*',
      ]),
      KNOWN_ACTIONS,
    );
    assert.deepEqual(rbac.namespaced, [
      { apiGroups: [''], resources: ['pods'], verbs: ['deletecollection'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
    ]);
    assert.deepEqual(rbac.clusterScoped, [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]);
    assert.ok(
      rbac.unresolved.length > 0 && rbac.unresolved.every((f) => f.startsWith(`${UNRESOLVABLE_BUNDLE}.`)),
      rbac.unresolved.join(', '),
    );
  });

  it('an allowlist without Kubernetes actions grants nothing; every Kubernetes action but custom resources has a mapping', () => {
    assert.deepEqual(rbacForAllowlist(new Allowlist(['com.datadoghq.http.*']), KNOWN_ACTIONS), {
      namespaced: [],
      clusterScoped: [],
      unresolved: [],
    });
    const needs = kubernetesActionNeeds();
    const missing = KNOWN_ACTIONS.filter(
      (f) =>
        f.startsWith('com.datadoghq.kubernetes.') &&
        !f.startsWith(`${UNRESOLVABLE_BUNDLE}.`) &&
        !f.endsWith('.testConnection') &&
        !needs.has(f),
    );
    assert.deepEqual(missing, [], 'an action without RBAC mapping');
    assert.ok(
      KNOWN_ACTIONS.includes('com.datadoghq.kubernetes.core.getPod') && KNOWN_ACTIONS.includes('com.datadoghq.kubernetes.core.listPod'),
    );
  });
});

describe('the -f k8s overlay', () => {
  it("renders on the base: the identity in the Secret, the allowlist's Role, the image; all objects valid", async () => {
    const dir = await tempDir('k8s-overlay');
    try {
      const identity = await makeIdentity(await generateSigningKeyPair(), [
        'com.datadoghq.kubernetes.apps.scaleDeployment',
        'com.datadoghq.kubernetes.core.listNamespace',
      ]);
      const files = formatKubernetesOverlay(identity, {
        basePath: relative(dir.path, BASE),
        image: 'registry.example:5000/par:1.2.3',
        knownActions: KNOWN_ACTIONS,
      });
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir.path, name), text);
      const objects = await render(dir.path);
      for (const obj of objects) await validate(obj);
      const secret = find(objects, 'Secret', 'par-runner-identity');
      assert.deepEqual(decodeIdentity(secret['stringData'].PAR_RUNNER_IDENTITY), identity);
      assert.equal(find(objects, 'ConfigMap', 'par-settings')['data'].DD_BASE_URL, identity.ddBaseURL);
      assert.equal(
        find(objects, 'ConfigMap', 'par-settings')['data'].REDIS_URL,
        'redis://par-redis:6379',
        "the base's other settings stay",
      );
      assert.deepEqual(find(objects, 'Role', 'par-worker-kubernetes-actions')['rules'], [
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
      ]);
      const clusterRole = objects.find((o) => o.kind === 'ClusterRole');
      assert.deepEqual((clusterRole as any)?.rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['list'] }]);
      const clusterBinding = objects.find((o) => o.kind === 'ClusterRoleBinding') as any;
      assert.deepEqual(clusterBinding?.subjects, [{ kind: 'ServiceAccount', name: 'par-worker', namespace: 'private-action-runner' }]);
      for (const name of ['par-runner', 'par-worker']) {
        assert.equal(find(objects, 'Deployment', name)['spec'].template.spec.containers[0].image, 'registry.example:5000/par:1.2.3');
      }
    } finally {
      await dir.remove();
    }
  });
});
