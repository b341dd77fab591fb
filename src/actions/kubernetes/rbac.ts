/**
 * The RBAC a worker's service account needs for the allowlisted com.datadoghq.kubernetes.*
 * actions (in-cluster, no kubeconfig): each action maps to the API calls it makes, as
 * (resource, verb) pairs; the allowlist picks the actions; the pairs merge into rules, one per
 * API group and resource. Generated CRUD actions come from the resource table (resources.ts);
 * the hand-written ones are listed below with the calls their code makes. Custom-resource
 * actions name their group and resource in the task, so no rule can be derived for them: they
 * are reported in `unresolved`. Pure: no I/O.
 */
import type { Allowlist } from '../allowlist.js';
import { crudActionName } from './crud-actions.js';
import { bundleFqn, KUBE_BUNDLE_PREFIX, KUBE_RESOURCES, resourceByKind, type KubeResource, type KubeVerb } from './resources.js';

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface KubeRbac {
  /** Rules on namespaced resources: a Role (and RoleBinding) in each namespace the actions touch. */
  namespaced: RbacRule[];
  /** Rules on cluster-scoped resources (nodes, namespaces, PVs, CRDs): a ClusterRole. */
  clusterScoped: RbacRule[];
  /** Allowlisted actions whose resources come from the task (custom resources): add their rules by hand. */
  unresolved: string[];
}

interface Need {
  resource: KubeResource;
  subresource?: string;
  verbs: readonly string[];
}

/** The Kubernetes API verb behind each generated action verb. */
const API_VERB: Readonly<Record<KubeVerb, string>> = {
  list: 'list',
  get: 'get',
  create: 'create',
  update: 'update',
  patch: 'patch',
  delete: 'delete',
  deleteMultiple: 'deletecollection',
};
const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

/** Every resolvable Kubernetes action -> the API calls it makes. */
export function kubernetesActionNeeds(): ReadonlyMap<string, readonly Need[]> {
  const needs = new Map<string, Need[]>();
  for (const r of KUBE_RESOURCES)
    for (const verb of r.verbs) needs.set(crudActionName(r, verb), [{ resource: r, verbs: [API_VERB[verb]] }]);
  const pod = resourceByKind('Pod');
  const deployment = resourceByKind('Deployment');
  const statefulSet = resourceByKind('StatefulSet');
  // Hand-written actions: the requests in pod-logs.ts, deployment-actions.ts, scaling-actions.ts.
  needs.set(bundleFqn('core', 'getPodLogs'), [{ resource: pod, subresource: 'log', verbs: ['get'] }]);
  needs.set(bundleFqn('apps', 'restartDeployment'), [{ resource: deployment, verbs: ['patch'] }]);
  needs.set(bundleFqn('apps', 'scaleDeployment'), [{ resource: deployment, verbs: ['patch'] }]);
  needs.set(bundleFqn('apps', 'rollbackDeployment'), [
    { resource: deployment, verbs: ['get', 'patch'] },
    { resource: resourceByKind('ReplicaSet'), verbs: ['list'] },
  ]);
  needs.set(bundleFqn('apps', 'scaleDeploymentVertically'), [{ resource: deployment, verbs: ['get', 'patch'] }]);
  needs.set(bundleFqn('apps', 'scaleStatefulSetVertically'), [{ resource: statefulSet, verbs: ['get', 'patch'] }]);
  needs.set(bundleFqn('apps', 'scaleStatefulSetHorizontally'), [{ resource: statefulSet, verbs: ['patch'] }]);
  needs.set(bundleFqn('autoscaling', 'updateAutoscalerLimits'), [
    { resource: resourceByKind('HorizontalPodAutoscaler'), verbs: ['patch'] },
  ]);
  needs.set(bundleFqn('batch', 'updateCronJobSchedule'), [{ resource: resourceByKind('CronJob'), verbs: ['patch'] }]);
  return needs;
}

/** Actions whose resource the task names (`customresources.*`): no static rule. */
export const UNRESOLVABLE_BUNDLE = `${KUBE_BUNDLE_PREFIX}.customresources`;

function toRules(grants: Map<string, { group: string; resource: string; verbs: Set<string> }>): RbacRule[] {
  return [...grants.values()]
    .sort((a, b) => a.group.localeCompare(b.group) || a.resource.localeCompare(b.resource))
    .map((g) => ({ apiGroups: [g.group], resources: [g.resource], verbs: VERB_ORDER.filter((v) => g.verbs.has(v)) }));
}

/**
 * The rules the allowlist's Kubernetes actions need. `knownActions`: the FQNs to consider (the
 * registry's); unknown Kubernetes actions among them are reported as unresolved, never guessed.
 */
export function rbacForAllowlist(allowlist: Allowlist, knownActions: Iterable<string>): KubeRbac {
  const needs = kubernetesActionNeeds();
  const namespaced = new Map<string, { group: string; resource: string; verbs: Set<string> }>();
  const clusterScoped = new Map<string, { group: string; resource: string; verbs: Set<string> }>();
  const unresolved: string[] = [];
  for (const fqn of [...new Set(knownActions)].sort()) {
    if (!fqn.startsWith(`${KUBE_BUNDLE_PREFIX}.`) || !allowlist.allows(fqn)) continue;
    const actionNeeds = needs.get(fqn);
    if (!actionNeeds) {
      if (!fqn.endsWith('.testConnection')) unresolved.push(fqn);
      continue;
    }
    for (const need of actionNeeds) {
      const resource = need.subresource ? `${need.resource.plural}/${need.subresource}` : need.resource.plural;
      const target = need.resource.namespaced ? namespaced : clusterScoped;
      const key = `${need.resource.group}/${resource}`;
      const grant = target.get(key) ?? { group: need.resource.group, resource, verbs: new Set<string>() };
      for (const v of need.verbs) grant.verbs.add(v);
      target.set(key, grant);
    }
  }
  return { namespaced: toRules(namespaced), clusterScoped: toRules(clusterScoped), unresolved };
}
