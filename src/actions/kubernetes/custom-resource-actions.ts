/**
 * The `com.datadoghq.kubernetes.customresources` bundle: the seven verbs on custom objects, as
 * namespaced (`...CustomObject`) and cluster (`...ClusterCustomObject`) actions, the path built from
 * the task's `group`, `version` and `plural` (/apis/<group>/<version>[/namespaces/<ns>]/<plural>).
 * As the vendor's resource policy does, these actions only reach custom resources: the core group,
 * the built-in API groups (apps, batch, policy, ...) and the groups Kubernetes reserves
 * (`k8s.io`, `*.k8s.io`, `kubernetes.io`, `*.kubernetes.io`) are refused before any request, so a
 * task cannot read Secrets or change RBAC through them. Patches are JSON Patch (array) or merge
 * patch (object): the API server has no strategic merge for custom objects.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import type { KubeClients } from './clients.js';
import { runCrud, type CrudInputs } from './crud-actions.js';
import { crudInputSchema, customResourceShape } from './inputs.js';
import { bundleFqn, type KubeResource, type KubeVerb } from './resources.js';

/** API groups served by Kubernetes itself without a CRD (client-go's scheme), not reachable as custom objects. */
const BUILT_IN_GROUPS: ReadonlySet<string> = new Set(['apps', 'autoscaling', 'batch', 'extensions', 'policy']);

/** Whether `group` is one of Kubernetes' own (apihelpers.IsProtectedCommunityGroup, or a built-in group). */
export function isNativeApiGroup(group: string): boolean {
  return (
    group === '' ||
    BUILT_IN_GROUPS.has(group) ||
    group === 'k8s.io' ||
    group.endsWith('.k8s.io') ||
    group === 'kubernetes.io' ||
    group.endsWith('.kubernetes.io')
  );
}

const VERBS: readonly KubeVerb[] = ['create', 'delete', 'deleteMultiple', 'get', 'list', 'patch', 'update'];

interface CustomInputs extends CrudInputs {
  group: string;
  version: string;
  plural: string;
}

function actionName(verb: KubeVerb, cluster: boolean): string {
  const noun = cluster ? 'ClusterCustomObject' : 'CustomObject';
  return verb === 'deleteMultiple' ? `deleteMultiple${noun}s` : `${verb}${noun}`;
}

export function customResourceActions(clients: KubeClients): RegisteredAction[] {
  return [false, true].flatMap((cluster) =>
    VERBS.map((verb) =>
      defineAction({
        fqn: bundleFqn('customresources', actionName(verb, cluster)),
        inputSchema: crudInputSchema(verb, !cluster, customResourceShape, ['json', 'merge']),
        run: async (raw, ctx) => {
          const inputs = raw as CustomInputs;
          if (isNativeApiGroup(inputs.group)) {
            throw new ParError(
              'PAR_ERR_INPUT_INVALID',
              `group: native Kubernetes API group "${inputs.group}" is not available through custom resource actions`,
            );
          }
          const resource: KubeResource = {
            bundle: 'customresources',
            kind: '',
            group: inputs.group,
            version: inputs.version,
            plural: inputs.plural,
            namespaced: !cluster,
            verbs: [verb],
          };
          const patchType = verb === 'patch' ? (inputs.patchType ?? (Array.isArray(inputs.body) ? 'json' : 'merge')) : undefined;
          return runCrud(clients, resource, verb, { ...inputs, ...(patchType ? { patchType } : {}) }, ctx);
        },
      }),
    ),
  );
}
