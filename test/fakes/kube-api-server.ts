/**
 * A FAKE Kubernetes API server for tests. No cluster exists on the test machine, so this stands
 * in for kube-apiserver on loopback (node:http, 127.0.0.1, random port). It keeps objects in
 * memory and speaks the real JSON wire format: the same URL layout, verbs, content types,
 * status codes and `kind: Status` error bodies, so the runner's Kubernetes actions cannot tell
 * it from a (very small) real cluster. It is NOT a conformant API server.
 *
 * Covered:
 * - core/v1 pods, services, configmaps, secrets, events, namespaces, nodes, endpoints, limitranges,
 *   persistentvolumes(claims), podtemplates, replicationcontrollers, resourcequotas, serviceaccounts;
 *   apps/v1 deployments, controllerrevisions,
 *   statefulsets, daemonsets, replicasets; batch/v1 jobs, cronjobs (schedule and timeZone validated);
 *   autoscaling/v2 horizontalpodautoscalers (min/max validated, minReplicas >= 1 as with
 *   HPAScaleToZero off); discovery.k8s.io/v1 endpointslices; apiextensions.k8s.io/v1
 *   customresourcedefinitions, which once stored make the fake serve their group/version/plural
 *   (custom objects, namespaced or cluster) until deleted (their objects go with them). Namespaced and cluster-wide
 *   URLs (/api/v1/namespaces/ns/pods, /api/v1/pods, /apis/apps/v1/namespaces/ns/deployments/x).
 * - list with labelSelector (=, ==, !=, in, notin, exists, !exists), fieldSelector
 *   (metadata.name, metadata.namespace; 400 for other fields), limit + continue.
 * - get; create (201; 409 AlreadyExists; 422 Invalid for a missing/bad metadata.name, non-string
 *   ConfigMap data, a Pod without containers, a workload whose selector does not match its
 *   template; 400 for a kind/namespace mismatch; 404 when the namespace does not exist; sets
 *   uid, resourceVersion, creationTimestamp, generation; generateName).
 * - update (PUT; 409 Conflict on a stale metadata.resourceVersion), patch
 *   (application/json-patch+json, application/merge-patch+json, and
 *   application/strategic-merge-patch+json as a merge patch whose containers/env/volumes/ports/
 *   volumeMounts lists merge on their keys (no $patch directives; 415 for custom objects and for
 *   other types), deletecollection (DELETE on a collection: selectors in the query, DeleteOptions
 *   dryRun/propagationPolicy in the body; answers the list of deleted objects), delete
 *   (returns the object; a namespace takes its objects with it; Background/Foreground deletes
 *   owned objects, Orphan keeps them), dryRun=All on every write (validated, nothing stored).
 * - pods/{name}/log as text/plain (container, tailLines, limitBytes), set by `setPodLog`.
 * - bearer-token authentication (401 Unauthorized without the right token) when `token` is set.
 * - a minimal deployment controller: a Deployment whose pod template is new gets a ReplicaSet
 *   (owner reference, pod-template-hash, deployment.kubernetes.io/revision), a template equal to
 *   an older ReplicaSet's makes that one the newest revision, as after `kubectl rollout undo`.
 * - `failNext(status)` makes the next requests fail with that status (for 429/5xx paths);
 *   `stallNext()` leaves the next request unanswered (for cancellation).
 * Not covered: watch, server-side apply, discovery, scale/status subresources, field
 * validation beyond the cases above, RBAC, finalizers and graceful deletion.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form Kubernetes objects

interface Kind {
  kind: string;
  namespaced: boolean;
  /** Served because a CustomResourceDefinition says so (no strategic merge patch). */
  custom?: boolean;
}

const KINDS: Record<string, Record<string, Kind>> = {
  v1: {
    pods: { kind: 'Pod', namespaced: true },
    services: { kind: 'Service', namespaced: true },
    configmaps: { kind: 'ConfigMap', namespaced: true },
    secrets: { kind: 'Secret', namespaced: true },
    events: { kind: 'Event', namespaced: true },
    namespaces: { kind: 'Namespace', namespaced: false },
    nodes: { kind: 'Node', namespaced: false },
    endpoints: { kind: 'Endpoints', namespaced: true },
    limitranges: { kind: 'LimitRange', namespaced: true },
    persistentvolumes: { kind: 'PersistentVolume', namespaced: false },
    persistentvolumeclaims: { kind: 'PersistentVolumeClaim', namespaced: true },
    podtemplates: { kind: 'PodTemplate', namespaced: true },
    replicationcontrollers: { kind: 'ReplicationController', namespaced: true },
    resourcequotas: { kind: 'ResourceQuota', namespaced: true },
    serviceaccounts: { kind: 'ServiceAccount', namespaced: true },
  },
  'apps/v1': {
    deployments: { kind: 'Deployment', namespaced: true },
    statefulsets: { kind: 'StatefulSet', namespaced: true },
    daemonsets: { kind: 'DaemonSet', namespaced: true },
    replicasets: { kind: 'ReplicaSet', namespaced: true },
    controllerrevisions: { kind: 'ControllerRevision', namespaced: true },
  },
  'batch/v1': {
    jobs: { kind: 'Job', namespaced: true },
    cronjobs: { kind: 'CronJob', namespaced: true },
  },
  'autoscaling/v2': {
    horizontalpodautoscalers: { kind: 'HorizontalPodAutoscaler', namespaced: true },
  },
  'discovery.k8s.io/v1': {
    endpointslices: { kind: 'EndpointSlice', namespaced: true },
  },
  'apiextensions.k8s.io/v1': {
    customresourcedefinitions: { kind: 'CustomResourceDefinition', namespaced: false },
  },
};
/** Strategic merge patch: the lists merged by a key rather than replaced (k8s.io/api patchMergeKey). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
};
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const REVISION = 'deployment.kubernetes.io/revision';
const HASH_LABEL = 'pod-template-hash';

export interface RecordedKubeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
}

export interface FakeKubeApiServer {
  url: string;
  readonly requests: RecordedKubeRequest[];
  /** Reads an object as stored (a copy), or undefined. */
  get(apiVersion: string, plural: string, namespace: string | undefined, name: string): Obj | undefined;
  /** Stores an object directly, as if a controller had made it (nodes, events, pods). */
  seed(apiVersion: string, plural: string, object: Obj): Obj;
  setPodLog(namespace: string, pod: string, text: string, container?: string): void;
  /** The next `times` requests fail with this status (a Status body with a fitting reason). */
  failNext(status: number, times?: number): void;
  /** The next request gets no answer until its client gives up (for cancellation tests). */
  stallNext(): void;
  /** A kubeconfig (JSON, which is YAML) with one context per entry, pointing here over http. */
  kubeconfig(contexts: Array<{ name: string; token?: string; namespace?: string }>, current?: string): string;
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

function statusBody(e: ApiError): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.reason,
    ...(e.details ? { details: e.details } : {}),
    code: e.code,
  };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- selectors ------------------------------------------------------------------------------

function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim().length > 0 || terms.length > 0) terms.push(cur);
  return terms.filter((t) => t.trim().length > 0);
}

type Predicate = (labels: Record<string, string>) => boolean;

function parseLabelSelector(s: string): Predicate[] {
  return splitTerms(s).map((term): Predicate => {
    let m = /^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$/.exec(term);
    if (m) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((v) => v.trim());
      return op === 'in' ? (l) => l[key] !== undefined && values.includes(l[key]) : (l) => l[key] === undefined || !values.includes(l[key]);
    }
    m = /^\s*!\s*([\w./-]+)\s*$/.exec(term);
    if (m) {
      const key = m[1]!;
      return (l) => l[key] === undefined;
    }
    m = /^\s*([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)\s*$/.exec(term);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^\s*([\w./-]+)\s*$/.exec(term);
    if (m) {
      const key = m[1]!;
      return (l) => l[key] !== undefined;
    }
    throw new ApiError(400, 'BadRequest', `unable to parse requirement: ${term.trim()}`);
  });
}

function parseFieldSelector(s: string): Array<(o: Obj) => boolean> {
  return splitTerms(s).map((term) => {
    const m = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw new ApiError(400, 'BadRequest', `invalid selector: '${term}'; can't understand '${term}'`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (field !== 'metadata.name' && field !== 'metadata.namespace')
      throw new ApiError(400, 'BadRequest', `field label not supported: ${field}`);
    const read = (o: Obj) => String((field === 'metadata.name' ? o['metadata']?.name : o['metadata']?.namespace) ?? '');
    return op === '!=' ? (o: Obj) => read(o) !== value : (o: Obj) => read(o) === value;
  });
}

// ---- patches --------------------------------------------------------------------------------

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, 'Invalid', `invalid JSON Pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parentOf(doc: unknown, tokens: string[], path: string): { container: any; key: string } {
  let cur: any = doc; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const t of tokens.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[t] : undefined;
    if (cur === undefined)
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
  }
  return { container: cur, key: tokens[tokens.length - 1]! };
}

function applyJsonPatch(input: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: unknown = structuredClone(input);
  const missing = (path: string) =>
    new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
  const read = (path: string): unknown => {
    let cur: unknown = doc;
    for (const t of pointer(path)) {
      cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[t] : undefined;
      if (cur === undefined) throw missing(path);
    }
    return cur;
  };
  const add = (path: string, value: unknown) => {
    const tokens = pointer(path);
    if (tokens.length === 0) {
      doc = value;
      return;
    }
    const { container, key } = parentOf(doc, tokens, path);
    if (Array.isArray(container)) container.splice(key === '-' ? container.length : Number(key), 0, value);
    else container[key] = value;
  };
  const remove = (path: string) => {
    const tokens = pointer(path);
    const { container, key } = parentOf(doc, tokens, path);
    if (Array.isArray(container)) {
      if (Number(key) >= container.length) throw missing(path);
      container.splice(Number(key), 1);
    } else {
      if (!isObj(container) || !(key in container)) throw missing(path);
      delete container[key];
    }
  };
  for (const op of ops as Obj[]) {
    switch (op['op']) {
      case 'add':
        add(op['path'], op['value']);
        break;
      case 'remove':
        remove(op['path']);
        break;
      case 'replace':
        read(op['path']);
        if (pointer(op['path']).length > 0) remove(op['path']);
        add(op['path'], op['value']);
        break;
      case 'move': {
        const v = read(op['from']);
        remove(op['from']);
        add(op['path'], v);
        break;
      }
      case 'copy':
        add(op['path'], structuredClone(read(op['from'])));
        break;
      case 'test':
        if (!isDeepStrictEqual(read(op['path']), op['value']))
          throw new ApiError(
            422,
            'Invalid',
            `the server rejected our request due to an error in our request: testing value ${op['path']} failed`,
          );
        break;
      default:
        throw new ApiError(400, 'BadRequest', `unexpected kind of JSON patch operation: ${String(op['op'])}`);
    }
  }
  if (!isObj(doc)) throw new ApiError(422, 'Invalid', 'the patched document is not an object');
  return doc;
}

/** RFC 7386 merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch, as far as the fake goes: a merge patch in which the lists named in
 * MERGE_KEYS are merged item by item on their key (a patched container keeps its image);
 * `$patch` directives and `$setElementOrder` are not supported.
 */
function strategicMerge(target: unknown, patch: unknown, field?: string): unknown {
  const mergeKey = field === undefined ? undefined : MERGE_KEYS[field];
  if (mergeKey !== undefined && Array.isArray(patch) && Array.isArray(target)) {
    const out = structuredClone(target) as unknown[];
    for (const item of patch) {
      const at = isObj(item) ? out.findIndex((t) => isObj(t) && t[mergeKey] === item[mergeKey]) : -1;
      if (at >= 0) out[at] = strategicMerge(out[at], item);
      else out.push(item);
    }
    return out;
  }
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k], v, k);
  }
  return out;
}

// ---- the server ------------------------------------------------------------------------------

interface Route {
  apiVersion: string;
  plural: string;
  kind: Kind;
  namespace: string | undefined;
  name: string | undefined;
  sub: string | undefined;
}

function parsePath(pathname: string, kinds: Record<string, Record<string, Kind>>): Route {
  const parts = pathname
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  let apiVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') [apiVersion, rest] = ['v1', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 3) [apiVersion, rest] = [`${parts[1]}/${parts[2]}`, parts.slice(3)];
  else throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub] = rest as [string | undefined, string | undefined, string | undefined];
  const kind = plural === undefined ? undefined : kinds[apiVersion]?.[plural];
  if (!kind || plural === undefined || rest.length > 3 || (namespace !== undefined && !kind.namespaced)) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  return { apiVersion, plural, kind, namespace, name, sub };
}

export async function startFakeKubeApiServer(options: { token?: string } = {}): Promise<FakeKubeApiServer> {
  const store = new Map<string, Obj>();
  /** The served kinds: the built-in ones, plus those of stored CustomResourceDefinitions. */
  const kinds: Record<string, Record<string, Kind>> = structuredClone(KINDS);
  const logs = new Map<string, string>();
  const requests: RecordedKubeRequest[] = [];
  let rv = 1000;
  let failures: { status: number; times: number } | undefined;
  let stall = false;

  const key = (apiVersion: string, plural: string, ns: string | undefined, name: string) => `${apiVersion}|${plural}|${ns ?? ''}|${name}`;
  const resourceName = (r: Pick<Route, 'apiVersion' | 'plural'>) =>
    r.apiVersion.includes('/') ? `${r.plural}.${r.apiVersion.split('/')[0]}` : r.plural;
  const notFound = (r: Pick<Route, 'apiVersion' | 'plural'>, name: string) =>
    new ApiError(404, 'NotFound', `${resourceName(r)} "${name}" not found`, {
      name,
      ...(r.apiVersion.includes('/') ? { group: r.apiVersion.split('/')[0] } : {}),
      kind: r.plural,
    });
  const invalid = (kind: string, name: string, field: string, message: string) =>
    new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${field}: ${message}`, {
      name,
      kind,
      causes: [{ reason: 'FieldValueInvalid', message, field }],
    });

  function put(apiVersion: string, plural: string, obj: Obj): Obj {
    rv += 1;
    obj['metadata'].resourceVersion = String(rv);
    store.set(key(apiVersion, plural, obj['metadata'].namespace, obj['metadata'].name), obj);
    return obj;
  }

  function validate(r: Route, obj: Obj, ns: string | undefined): void {
    const { kind } = r.kind;
    if (obj['kind'] !== undefined && obj['kind'] !== kind)
      throw new ApiError(
        400,
        'BadRequest',
        `the API version in the data (${String(obj['apiVersion'])}) and kind (${String(obj['kind'])}) do not match the endpoint (${r.apiVersion}, ${kind})`,
      );
    if (obj['apiVersion'] !== undefined && obj['apiVersion'] !== r.apiVersion)
      throw new ApiError(
        400,
        'BadRequest',
        `the API version in the data (${String(obj['apiVersion'])}) does not match the endpoint (${r.apiVersion})`,
      );
    const meta = obj['metadata'];
    const name = typeof meta?.name === 'string' ? meta.name : '';
    if (!name) throw invalid(kind, '', 'metadata.name', 'Required value: name or generateName is required');
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
      throw invalid(
        kind,
        name,
        'metadata.name',
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      );
    if (ns !== undefined && meta.namespace !== undefined && meta.namespace !== ns)
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    if (
      kind === 'ConfigMap' &&
      obj['data'] !== undefined &&
      (!isObj(obj['data']) || Object.values(obj['data']).some((v) => typeof v !== 'string'))
    ) {
      throw invalid(kind, name, 'data', 'Invalid value: data values must be strings');
    }
    if (kind === 'Pod' && (!Array.isArray(obj['spec']?.containers) || obj['spec'].containers.length === 0))
      throw invalid(kind, name, 'spec.containers', 'Required value');
    if (kind === 'HorizontalPodAutoscaler') {
      const spec = obj['spec'] ?? {};
      if (!isObj(spec['scaleTargetRef'])) throw invalid(kind, name, 'spec.scaleTargetRef', 'Required value');
      if (!Number.isInteger(spec['maxReplicas']) || spec['maxReplicas'] < 1)
        throw invalid(kind, name, 'spec.maxReplicas', `Invalid value: ${String(spec['maxReplicas'])}: must be greater than or equal to 1`);
      // HPAScaleToZero is off by default: minReplicas >= 1.
      if (spec['minReplicas'] !== undefined && (!Number.isInteger(spec['minReplicas']) || spec['minReplicas'] < 1))
        throw invalid(kind, name, 'spec.minReplicas', `Invalid value: ${String(spec['minReplicas'])}: must be greater than or equal to 1`);
      if ((spec['minReplicas'] ?? 1) > spec['maxReplicas'])
        throw invalid(
          kind,
          name,
          'spec.maxReplicas',
          `Invalid value: ${String(spec['maxReplicas'])}: must be greater than or equal to \`minReplicas\``,
        );
    }
    if (kind === 'CronJob') {
      const schedule = obj['spec']?.schedule;
      if (
        typeof schedule !== 'string' ||
        !(/^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every \S+)$/.test(schedule) || schedule.trim().split(/\s+/).length === 5)
      ) {
        throw invalid(kind, name, 'spec.schedule', `Invalid value: "${String(schedule)}": unparseable cron schedule`);
      }
      const tz = obj['spec']?.timeZone;
      if (tz !== undefined && tz !== null) {
        try {
          new Intl.DateTimeFormat('en', { timeZone: String(tz) });
        } catch {
          throw invalid(kind, name, 'spec.timeZone', `Invalid value: "${String(tz)}": unknown time zone ${String(tz)}`);
        }
      }
    }
    if (kind === 'CustomResourceDefinition') {
      const spec = obj['spec'] ?? {};
      const plural = spec['names']?.plural;
      if (typeof spec['group'] !== 'string' || typeof plural !== 'string' || typeof spec['names']?.kind !== 'string')
        throw invalid(kind, name, 'spec', 'Required value: group, names.plural and names.kind are required');
      if (name !== `${plural}.${spec['group']}`)
        throw invalid(kind, name, 'metadata.name', `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`);
      if (spec['scope'] !== 'Namespaced' && spec['scope'] !== 'Cluster')
        throw invalid(kind, name, 'spec.scope', `Unsupported value: "${String(spec['scope'])}": supported values: "Cluster", "Namespaced"`);
      const versions = Array.isArray(spec['versions']) ? spec['versions'] : [];
      if (versions.length === 0 || versions.filter((v: Obj) => v['storage'] === true).length !== 1)
        throw invalid(kind, name, 'spec.versions', 'Invalid value: must have exactly one version marked as storage version');
    }
    if (WORKLOADS.has(kind)) {
      const selector = obj['spec']?.selector?.matchLabels;
      const labels = obj['spec']?.template?.metadata?.labels ?? {};
      if (!isObj(selector)) throw invalid(kind, name, 'spec.selector', 'Required value');
      if (Object.entries(selector).some(([k, v]) => labels[k] !== v))
        throw invalid(kind, name, 'spec.template.metadata.labels', 'Invalid value: selector does not match template labels');
    }
  }

  /** The deployment controller, synchronously: a ReplicaSet per template, revisions as annotations. */
  function reconcileDeployment(dep: Obj, dryRun: boolean): void {
    const ns = dep['metadata'].namespace as string;
    const owned = [...store.values()].filter(
      (o) =>
        o['kind'] === 'ReplicaSet' &&
        o['metadata'].namespace === ns &&
        (o['metadata'].ownerReferences ?? []).some((ref: Obj) => ref['uid'] === dep['metadata'].uid && ref['controller']),
    );
    const strip = (t: Obj | undefined) => {
      const c = structuredClone(t ?? {});
      if (c['metadata']?.labels) delete c['metadata'].labels[HASH_LABEL];
      return c;
    };
    const template = strip(dep['spec'].template);
    const revisions = owned.map((o) => Number(o['metadata'].annotations?.[REVISION] ?? 0));
    const max = revisions.length > 0 ? Math.max(...revisions) : 0;
    let current = owned.find((o) => isDeepStrictEqual(strip(o['spec'].template), template));
    let revision = current ? Number(current['metadata'].annotations?.[REVISION] ?? 0) : max + 1;
    if (current && revision !== max) revision = max + 1;
    dep['metadata'].annotations = { ...(dep['metadata'].annotations ?? {}), [REVISION]: String(revision) };
    if (dryRun) return;
    if (!current) {
      const hash = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
      const tpl = structuredClone(dep['spec'].template);
      tpl.metadata = { ...(tpl.metadata ?? {}), labels: { ...(tpl.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
      current = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${dep['metadata'].name}-${hash}`,
          namespace: ns,
          uid: randomUUID(),
          creationTimestamp: nowRfc3339(),
          generation: 1,
          labels: tpl.metadata.labels,
          annotations: {},
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: dep['metadata'].name,
              uid: dep['metadata'].uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas: 0, selector: { matchLabels: { ...dep['spec'].selector.matchLabels, [HASH_LABEL]: hash } }, template: tpl },
      };
    }
    for (const rs of owned)
      if (rs !== current && rs['spec'].replicas !== 0) put('apps/v1', 'replicasets', { ...rs, spec: { ...rs['spec'], replicas: 0 } });
    current['metadata'].annotations = { ...(current['metadata'].annotations ?? {}), [REVISION]: String(revision) };
    current['spec'] = { ...current['spec'], replicas: dep['spec'].replicas ?? 1 };
    put('apps/v1', 'replicasets', current);
  }

  /** Fills server-owned fields and stores (unless dry run); returns the object as answered. */
  function commit(r: Route, obj: Obj, dryRun: boolean, previous: Obj | undefined): Obj {
    const meta = obj['metadata'];
    obj['apiVersion'] = r.apiVersion;
    obj['kind'] = r.kind.kind;
    if (r.kind.namespaced) meta.namespace = r.namespace;
    else delete meta.namespace;
    meta.uid = previous?.['metadata'].uid ?? randomUUID();
    meta.creationTimestamp = previous?.['metadata'].creationTimestamp ?? nowRfc3339();
    if (obj['spec'] !== undefined) {
      const changed = !previous || !isDeepStrictEqual(previous['spec'], obj['spec']);
      meta.generation = ((previous?.['metadata'].generation as number | undefined) ?? 0) + (changed ? 1 : 0);
    }
    if (r.kind.kind === 'Deployment') {
      obj['spec'].replicas ??= 1;
      reconcileDeployment(obj, dryRun);
    }
    if (dryRun) {
      meta.resourceVersion = previous?.['metadata'].resourceVersion ?? '';
      return structuredClone(obj);
    }
    if (r.kind.kind === 'CustomResourceDefinition') registerCrd(obj);
    return structuredClone(put(r.apiVersion, r.plural, obj));
  }

  /** A stored CRD makes its group/versions/plural served, as the apiextensions controller does. */
  function registerCrd(crd: Obj): void {
    const spec = crd['spec'];
    for (const v of spec['versions'] as Obj[]) {
      if (v['served'] === false) continue;
      const apiVersion = `${spec['group']}/${v['name']}`;
      kinds[apiVersion] = {
        ...(kinds[apiVersion] ?? {}),
        [spec['names'].plural]: { kind: spec['names'].kind, namespaced: spec['scope'] === 'Namespaced', custom: true },
      };
    }
  }

  /** Deleting a CRD stops serving its resource and deletes its objects. */
  function unregisterCrd(crd: Obj): void {
    const spec = crd['spec'];
    for (const v of spec['versions'] as Obj[]) {
      const apiVersion = `${spec['group']}/${v['name']}`;
      delete kinds[apiVersion]?.[spec['names'].plural];
      for (const k of [...store.keys()]) if (k.startsWith(`${apiVersion}|${spec['names'].plural}|`)) store.delete(k);
    }
  }

  /** Deletes one stored object as the garbage collector would: a namespace takes its objects, owners their dependents (unless Orphan). */
  function deleteObject(r: Route, ns: string | undefined, existing: Obj, propagationPolicy: string | null | undefined): void {
    store.delete(key(r.apiVersion, r.plural, ns, existing['metadata'].name));
    if (r.kind.kind === 'CustomResourceDefinition') unregisterCrd(existing);
    const uid = existing['metadata'].uid;
    for (const [k, o] of store) {
      const owned = (o['metadata'].ownerReferences ?? []).some((ref: Obj) => ref['uid'] === uid);
      if ((r.plural === 'namespaces' && o['metadata'].namespace === existing['metadata'].name) || (owned && propagationPolicy !== 'Orphan'))
        store.delete(k);
    }
  }

  function list(r: Route, q: URLSearchParams): Obj {
    const labelPreds = parseLabelSelector(q.get('labelSelector') ?? '');
    const fieldPreds = parseFieldSelector(q.get('fieldSelector') ?? '');
    const prefix = `${r.apiVersion}|${r.plural}|`;
    let keys = [...store.keys()]
      .filter((k) => k.startsWith(prefix) && (r.namespace === undefined || k.startsWith(`${prefix}${r.namespace}|`)))
      .sort();
    keys = keys.filter((k) => {
      const o = store.get(k)!;
      return labelPreds.every((p) => p(o['metadata'].labels ?? {})) && fieldPreds.every((p) => p(o));
    });
    const cont = q.get('continue');
    if (cont) {
      let after: string;
      try {
        after = (JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { after: string }).after;
      } catch {
        throw new ApiError(400, 'BadRequest', 'continue key is not valid: illegal base64 data');
      }
      keys = keys.filter((k) => k > after);
    }
    const limit = Number(q.get('limit') ?? 0);
    const page = limit > 0 ? keys.slice(0, limit) : keys;
    const metadata: Obj = { resourceVersion: String(rv) };
    if (page.length < keys.length) {
      metadata['continue'] = Buffer.from(JSON.stringify({ after: page[page.length - 1] })).toString('base64url');
      metadata['remainingItemCount'] = keys.length - page.length;
    }
    const items = page.map((k) => {
      const { apiVersion: _a, kind: _k, ...rest } = structuredClone(store.get(k)!);
      return rest;
    });
    return { kind: `${r.kind.kind}List`, apiVersion: r.apiVersion, metadata, items };
  }

  function readLog(r: Route, q: URLSearchParams): string {
    const pod = store.get(key('v1', 'pods', r.namespace, r.name!));
    if (!pod) throw notFound(r, r.name!);
    const containers: string[] = (pod['spec']?.containers ?? []).map((c: Obj) => c['name']);
    let container = q.get('container') ?? undefined;
    if (container === undefined) {
      if (containers.length > 1)
        throw new ApiError(
          400,
          'BadRequest',
          `a container name must be specified for pod ${r.name}, choose one of: [${containers.join(' ')}]`,
        );
      container = containers[0];
    } else if (!containers.includes(container)) {
      throw new ApiError(400, 'BadRequest', `container ${container} is not valid for pod ${r.name}`);
    }
    let text = logs.get(`${r.namespace}/${r.name}/${container ?? ''}`) ?? '';
    const tail = q.get('tailLines');
    if (tail !== null) {
      const lines = text.split('\n');
      const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
      text = lines.slice(Math.max(0, lines.length - Number(tail))).join('\n') + (trailing === undefined ? '' : '\n');
    }
    const limitBytes = q.get('limitBytes');
    if (limitBytes !== null) text = Buffer.from(text).subarray(0, Number(limitBytes)).toString('utf8');
    return text;
  }

  function handle(method: string, url: URL, contentType: string | undefined, rawBody: string): { status: number; body: Obj | string } {
    const r = parsePath(url.pathname, kinds);
    const q = url.searchParams;
    const dryRunValue = q.get('dryRun');
    if (dryRunValue !== null && dryRunValue !== 'All') throw new ApiError(400, 'BadRequest', `Invalid dry run value "${dryRunValue}"`);
    const dryRun = dryRunValue === 'All';
    let body: unknown;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        throw new ApiError(400, 'BadRequest', 'the body of the request was in an unknown format');
      }
    }
    const ns = r.namespace;
    if (r.kind.namespaced && ns !== undefined && method === 'POST' && !store.has(key('v1', 'namespaces', undefined, ns))) {
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
    }
    if (r.sub !== undefined) {
      if (r.plural === 'pods' && r.sub === 'log' && method === 'GET') return { status: 200, body: readLog(r, q) };
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (r.name === undefined) {
      if (method === 'GET') return { status: 200, body: list(r, q) };
      if (method === 'DELETE') {
        // deletecollection: list options from the query, DeleteOptions from the body (or the query).
        if (r.kind.namespaced && ns === undefined)
          throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        const opts = isObj(body) ? body : {};
        const collectionDryRun = dryRun || (Array.isArray(opts['dryRun']) && opts['dryRun'].includes('All'));
        if (Array.isArray(opts['dryRun']) && opts['dryRun'].some((v: unknown) => v !== 'All'))
          throw new ApiError(400, 'BadRequest', 'Invalid dry run value');
        const matched = list(r, new URLSearchParams([...q].filter(([k]) => k !== 'limit' && k !== 'continue')));
        if (!collectionDryRun) {
          for (const item of matched['items'] as Obj[]) {
            const existing = store.get(key(r.apiVersion, r.plural, ns, item['metadata'].name));
            if (existing) deleteObject(r, ns, existing, (opts['propagationPolicy'] as string | undefined) ?? q.get('propagationPolicy'));
          }
        }
        return { status: 200, body: matched };
      }
      if (method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      if (r.kind.namespaced && ns === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (!isObj(body)) throw new ApiError(400, 'BadRequest', 'the body of the request is not a JSON object');
      const obj = structuredClone(body);
      obj['metadata'] = isObj(obj['metadata']) ? obj['metadata'] : {};
      if (!obj['metadata'].name && typeof obj['metadata'].generateName === 'string')
        obj['metadata'].name = `${obj['metadata'].generateName}${randomUUID().slice(0, 5)}`;
      validate(r, obj, ns);
      if (store.has(key(r.apiVersion, r.plural, ns, obj['metadata'].name))) {
        throw new ApiError(409, 'AlreadyExists', `${resourceName(r)} "${obj['metadata'].name}" already exists`, {
          name: obj['metadata'].name,
          kind: r.plural,
        });
      }
      return { status: 201, body: commit(r, obj, dryRun, undefined) };
    }
    const existing = store.get(key(r.apiVersion, r.plural, ns, r.name));
    if (method === 'GET') {
      if (!existing) throw notFound(r, r.name);
      return { status: 200, body: structuredClone(existing) };
    }
    if (!existing) throw notFound(r, r.name);
    if (method === 'DELETE') {
      if (!dryRun) deleteObject(r, ns, existing, q.get('propagationPolicy'));
      return { status: 200, body: structuredClone(existing) };
    }
    let next: Obj;
    if (method === 'PUT') {
      if (!isObj(body)) throw new ApiError(400, 'BadRequest', 'the body of the request is not a JSON object');
      next = structuredClone(body);
    } else if (method === 'PATCH') {
      const type = (contentType ?? '').split(';')[0]!.trim();
      if (type === 'application/json-patch+json') next = applyJsonPatch(existing, body);
      else if (type === 'application/merge-patch+json' || (type === 'application/strategic-merge-patch+json' && !r.kind.custom)) {
        if (!isObj(body)) throw new ApiError(400, 'BadRequest', 'the body of the request is not a JSON object');
        next = (
          type === 'application/merge-patch+json'
            ? mergePatch(structuredClone(existing), body)
            : strategicMerge(structuredClone(existing), body)
        ) as Obj;
      } else
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
    } else {
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
    next['metadata'] = isObj(next['metadata']) ? next['metadata'] : {};
    if (next['metadata'].name !== r.name)
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${String(next['metadata'].name)}) does not match the name on the URL (${r.name})`,
      );
    validate(r, next, ns);
    const sentRv = next['metadata'].resourceVersion;
    if (sentRv !== undefined && sentRv !== existing['metadata'].resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resourceName(r)} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: r.name, kind: r.plural },
      );
    }
    return { status: 200, body: commit(r, next, dryRun, existing) };
  }

  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const contentType = req.headers['content-type'];
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType });
      const send = (status: number, body: Obj | string) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, {
          'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (stall) {
        stall = false;
        return; // the socket stays open until the client aborts or close() ends it
      }
      try {
        authenticate(req);
        if (failures && failures.times > 0) {
          failures.times -= 1;
          throw new ApiError(failures.status, REASONS[failures.status] ?? 'Unknown', `injected failure ${failures.status}`);
        }
        const out = handle(req.method ?? 'GET', url, contentType, Buffer.concat(chunks).toString('utf8'));
        send(out.status, out.body);
      } catch (error) {
        const e = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String(error));
        send(e.code, statusBody(e));
      }
    });
  });

  function authenticate(req: IncomingMessage): void {
    if (options.token === undefined) return;
    if (req.headers.authorization !== `Bearer ${options.token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const seed = (apiVersion: string, plural: string, object: Obj): Obj => {
    const obj = structuredClone(object);
    const kind = kinds[apiVersion]?.[plural];
    if (!kind) throw new Error(`fake: unknown resource ${apiVersion} ${plural}`);
    obj['apiVersion'] = apiVersion;
    obj['kind'] = kind.kind;
    obj['metadata'] = { uid: randomUUID(), creationTimestamp: nowRfc3339(), ...obj['metadata'] };
    return structuredClone(put(apiVersion, plural, obj));
  };
  seed('v1', 'namespaces', { metadata: { name: 'default' } });

  return {
    url,
    requests,
    get: (apiVersion, plural, namespace, name) => {
      const o = store.get(key(apiVersion, plural, namespace, name));
      return o ? structuredClone(o) : undefined;
    },
    seed,
    setPodLog: (namespace, pod, text, container) => {
      const c = container ?? store.get(key('v1', 'pods', namespace, pod))?.['spec']?.containers?.[0]?.name ?? '';
      logs.set(`${namespace}/${pod}/${c}`, text);
    },
    failNext: (status, times = 1) => {
      failures = { status, times };
    },
    stallNext: () => {
      stall = true;
    },
    kubeconfig: (contexts, current) =>
      JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: contexts.map((c) => ({ name: `${c.name}-user`, user: c.token === undefined ? {} : { token: c.token } })),
          contexts: contexts.map((c) => ({
            name: c.name,
            context: { cluster: 'fake', user: `${c.name}-user`, namespace: c.namespace ?? 'default' },
          })),
          'current-context': current ?? contexts[0]?.name ?? '',
        },
        null,
        2,
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
