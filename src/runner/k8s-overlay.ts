/**
 * `par runner --enroll -f k8s`: a Kustomize overlay on the base in deploy/kubernetes for one
 * enrolled runner. Files (name -> text), written by enroll-output.ts:
 *   kustomization.yaml   the base, the patches below, the image
 *   runner-identity.yaml the Secret par-runner-identity with PAR_RUNNER_IDENTITY (private key: 0600)
 *   settings.yaml        DD_BASE_URL in the ConfigMap par-settings
 *   worker-role.yaml     the workers' Role: the rules the allowlisted Kubernetes actions need
 *   cluster-rbac.yaml    only when they touch cluster-scoped resources: ClusterRole + binding
 * Pure: no I/O.
 */
import { stringify } from 'yaml';
import { Allowlist } from '../actions/allowlist.js';
import { rbacForAllowlist, type KubeRbac } from '../actions/kubernetes/rbac.js';
import type { RunnerIdentity } from '../contracts/runner-identity.js';
import { encodeIdentity } from '../lib/identity-file.js';

/** The base's namespace and object names (deploy/kubernetes). */
export const K8S_BASE_NAMESPACE = 'private-action-runner';
const WORKER_ROLE = 'par-worker-kubernetes-actions';
const WORKER_SERVICE_ACCOUNT = 'par-worker';
const YAML_1_1 = { version: '1.1' } as const;

export interface KubernetesOverlayOptions {
  /** Path of deploy/kubernetes relative to the overlay directory. */
  basePath: string;
  image: string;
  /** Every action FQN the workers know (the registry's), to resolve the allowlist against. */
  knownActions: Iterable<string>;
}

function splitImage(image: string): { newName: string; newTag: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? { newName: image.slice(0, colon), newTag: image.slice(colon + 1) } : { newName: image, newTag: 'latest' };
}

function yamlDoc(comment: string, doc: unknown): string {
  return `${comment
    .split('\n')
    .map((l) => `# ${l}`.trimEnd())
    .join('\n')}\n${stringify(doc, YAML_1_1)}`;
}

export function kubernetesRbacFor(identity: RunnerIdentity, knownActions: Iterable<string>): KubeRbac {
  return rbacForAllowlist(new Allowlist(identity.actionsAllowlist), knownActions);
}

export function formatKubernetesOverlay(identity: RunnerIdentity, options: KubernetesOverlayOptions): Record<string, string> {
  const rbac = kubernetesRbacFor(identity, options.knownActions);
  const files: Record<string, string> = {};
  const clusterName = `par-worker-${identity.runnerName}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 253);

  files['runner-identity.yaml'] = yamlDoc(
    `Runner ${identity.runnerName} (${identity.runnerId}), enrolled ${identity.enrolledAt}.\nContains the runner's private key: keep this file secret (do not commit it).`,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'par-runner-identity' },
      type: 'Opaque',
      stringData: { PAR_RUNNER_IDENTITY: encodeIdentity(identity), PAR_ENROLLMENT_TOKEN: '' },
    },
  );
  files['settings.yaml'] = yamlDoc('Where this runner reaches its control plane (from its identity).', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'par-settings' },
    data: { DD_BASE_URL: identity.ddBaseURL },
  });
  const unresolvedNote =
    rbac.unresolved.length > 0
      ? `\nNOT covered (their resources come from each task; add rules by hand): ${rbac.unresolved.join(', ')}.`
      : '';
  files['worker-role.yaml'] = yamlDoc(
    `What the allowlisted Kubernetes actions need in namespace ${K8S_BASE_NAMESPACE}, from the allowlist:\n  ${identity.actionsAllowlist.join(', ') || '(empty)'}\nFor other namespaces, create this Role and its RoleBinding there too.${unresolvedNote}`,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: WORKER_ROLE },
      rules: rbac.namespaced,
    },
  );
  const resources = [options.basePath];
  if (rbac.clusterScoped.length > 0) {
    resources.push('cluster-rbac.yaml');
    files['cluster-rbac.yaml'] = `${yamlDoc(
      'Cluster-scoped resources the allowlisted Kubernetes actions use (nodes, namespaces, volumes, CRDs).',
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: clusterName },
        rules: rbac.clusterScoped,
      },
    )}---\n${stringify(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: clusterName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterName },
        subjects: [{ kind: 'ServiceAccount', name: WORKER_SERVICE_ACCOUNT, namespace: K8S_BASE_NAMESPACE }],
      },
      YAML_1_1,
    )}`;
  }
  files['kustomization.yaml'] = yamlDoc(
    `Runner ${identity.runnerName} on the base ${options.basePath}.\nkubectl apply -k <this directory>`,
    {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources,
      patches: [{ path: 'runner-identity.yaml' }, { path: 'settings.yaml' }, { path: 'worker-role.yaml' }],
      images: [{ name: 'private-action-runner', ...splitImage(options.image) }],
    },
  );
  return files;
}
