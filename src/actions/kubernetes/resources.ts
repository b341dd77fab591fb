/**
 * The resource table the Kubernetes bundles are generated from. One row per kind: where it lives
 * in the API (group/version, plural), whether it is namespaced, and which verbs the runner
 * exposes for it. Action names follow the vendor: `com.datadoghq.kubernetes.<bundle>.<verb><Kind>`
 * (`com.datadoghq.kubernetes.core.listPod`, `...apps.patchDeployment`).
 */

export type KubeBundleName = 'core' | 'apps' | 'batch' | 'apiextensions' | 'discovery' | 'autoscaling' | 'customresources';
/** `deleteMultiple` is a deletecollection (`DELETE` on the collection, list options as query, DeleteOptions as body). */
export type KubeVerb = 'list' | 'get' | 'create' | 'update' | 'patch' | 'delete' | 'deleteMultiple';

export const ALL_VERBS: readonly KubeVerb[] = ['list', 'get', 'create', 'update', 'patch', 'delete'];
/** The vendor's generated set for most kinds: the six verbs and `deleteMultiple<Kinds>`. */
const WITH_COLLECTION: readonly KubeVerb[] = [...ALL_VERBS, 'deleteMultiple'];
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
  /** The plural in action names (`deleteMultipleEndpoints`); default `<kind>s`. */
  readonly kinds?: string;
}

export const KUBE_BUNDLE_PREFIX = 'com.datadoghq.kubernetes';

export const KUBE_RESOURCES: readonly KubeResource[] = [
  { bundle: 'core', kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true, verbs: WITH_COLLECTION },
  // The vendor has no deleteMultiple for Services and Namespaces.
  { bundle: 'core', kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true, verbs: ALL_VERBS },
  { bundle: 'core', kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false, verbs: ALL_VERBS },
  { bundle: 'core', kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false, verbs: READ_ONLY },
  { bundle: 'core', kind: 'Event', group: '', version: 'v1', plural: 'events', namespaced: true, verbs: READ_ONLY },
  { bundle: 'core', kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true, verbs: WITH_COLLECTION },
  {
    bundle: 'core',
    kind: 'Endpoints',
    group: '',
    version: 'v1',
    plural: 'endpoints',
    namespaced: true,
    verbs: WITH_COLLECTION,
    kinds: 'Endpoints',
  },
  { bundle: 'core', kind: 'LimitRange', group: '', version: 'v1', plural: 'limitranges', namespaced: true, verbs: WITH_COLLECTION },
  {
    bundle: 'core',
    kind: 'PersistentVolume',
    group: '',
    version: 'v1',
    plural: 'persistentvolumes',
    namespaced: false,
    verbs: WITH_COLLECTION,
  },
  {
    bundle: 'core',
    kind: 'PersistentVolumeClaim',
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    verbs: WITH_COLLECTION,
  },
  { bundle: 'core', kind: 'PodTemplate', group: '', version: 'v1', plural: 'podtemplates', namespaced: true, verbs: WITH_COLLECTION },
  {
    bundle: 'core',
    kind: 'ReplicationController',
    group: '',
    version: 'v1',
    plural: 'replicationcontrollers',
    namespaced: true,
    verbs: WITH_COLLECTION,
  },
  { bundle: 'core', kind: 'ResourceQuota', group: '', version: 'v1', plural: 'resourcequotas', namespaced: true, verbs: WITH_COLLECTION },
  { bundle: 'core', kind: 'ServiceAccount', group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true, verbs: WITH_COLLECTION },
  { bundle: 'apps', kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true, verbs: WITH_COLLECTION },
  { bundle: 'apps', kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true, verbs: WITH_COLLECTION },
  { bundle: 'apps', kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true, verbs: WITH_COLLECTION },
  { bundle: 'apps', kind: 'ReplicaSet', group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true, verbs: WITH_COLLECTION },
  {
    bundle: 'apps',
    kind: 'ControllerRevision',
    group: 'apps',
    version: 'v1',
    plural: 'controllerrevisions',
    namespaced: true,
    verbs: WITH_COLLECTION,
  },
  { bundle: 'batch', kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs', namespaced: true, verbs: WITH_COLLECTION },
  { bundle: 'batch', kind: 'CronJob', group: 'batch', version: 'v1', plural: 'cronjobs', namespaced: true, verbs: WITH_COLLECTION },
  {
    bundle: 'apiextensions',
    kind: 'CustomResourceDefinition',
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    namespaced: false,
    verbs: WITH_COLLECTION,
  },
  {
    bundle: 'discovery',
    kind: 'EndpointSlice',
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    namespaced: true,
    verbs: WITH_COLLECTION,
  },
  // No generated actions: only `autoscaling.updateAutoscalerLimits` uses it.
  {
    bundle: 'autoscaling',
    kind: 'HorizontalPodAutoscaler',
    group: 'autoscaling',
    version: 'v2',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
    verbs: [],
  },
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
export function resourcePath(
  r: KubeResource,
  opts: { namespace?: string | undefined; name?: string | undefined; subresource?: string },
): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && opts.namespace !== undefined ? `/namespaces/${encodeURIComponent(opts.namespace)}` : '';
  const name = opts.name === undefined ? '' : `/${encodeURIComponent(opts.name)}`;
  const sub = opts.subresource === undefined ? '' : `/${opts.subresource}`;
  return `${root}${ns}/${r.plural}${name}${sub}`;
}
