/**
 * The resource table the Kubernetes bundles are generated from. One row per kind: where it lives
 * in the API (group/version, plural), whether it is namespaced, and which verbs the runner
 * exposes for it. Action names follow the vendor: `com.datadoghq.kubernetes.<bundle>.<verb><Kind>`
 * (`com.datadoghq.kubernetes.core.listPod`, `...apps.patchDeployment`).
 */

export type KubeBundleName = 'core' | 'apps' | 'batch';
export type KubeVerb = 'list' | 'get' | 'create' | 'update' | 'patch' | 'delete';

export const ALL_VERBS: readonly KubeVerb[] = ['list', 'get', 'create', 'update', 'patch', 'delete'];
const READ_ONLY: readonly KubeVerb[] = ['list', 'get'];

export interface KubeResource {
  readonly bundle: KubeBundleName;
  readonly kind: string;
  /** '' for the core group (served under /api/v1). */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly verbs: readonly KubeVerb[];
}

export const KUBE_BUNDLE_PREFIX = 'com.datadoghq.kubernetes';

export const KUBE_RESOURCES: readonly KubeResource[] = [
  { bundle: 'core', kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'core', kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'core', kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false, verbs: ALL_VERBS },
  { bundle: 'core', kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false, verbs: READ_ONLY },
  { bundle: 'core', kind: 'Event', group: '', version: 'v1', plural: 'events', namespaced: true, verbs: READ_ONLY },
  { bundle: 'core', kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'apps', kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'apps', kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'apps', kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'apps', kind: 'ReplicaSet', group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'batch', kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'batch', kind: 'CronJob', group: 'batch', version: 'v1', plural: 'cronjobs', namespaced: true, verbs: ALL_VERBS },
];

export function bundleFqn(bundle: KubeBundleName, name: string): string {
  return `${KUBE_BUNDLE_PREFIX}.${bundle}.${name}`;
}

export function apiVersionOf(r: Pick<KubeResource, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

export function resourceByKind(kind: string): KubeResource {
  const found = KUBE_RESOURCES.find((r) => r.kind === kind);
  if (!found) throw new Error(`unknown kind ${kind}`);
  return found;
}

/**
 * The REST path of a collection or one object: /api/v1/namespaces/ns/pods/name, or the
 * cross-namespace collection /apis/apps/v1/deployments when a namespaced kind is listed without
 * a namespace. Segments are URI-encoded: names come from task inputs.
 */
export function resourcePath(r: KubeResource, opts: { namespace?: string | undefined; name?: string | undefined; subresource?: string }): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && opts.namespace !== undefined ? `/namespaces/${encodeURIComponent(opts.namespace)}` : '';
  const name = opts.name === undefined ? '' : `/${encodeURIComponent(opts.name)}`;
  const sub = opts.subresource === undefined ? '' : `/${opts.subresource}`;
  return `${root}${ns}/${r.plural}${name}${sub}`;
}
