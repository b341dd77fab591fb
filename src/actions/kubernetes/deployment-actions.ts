/**
 * `restartDeployment`, `scaleDeployment` and `rollbackDeployment`, done the way kubectl does
 * them (`rollout restart`, `scale`, `rollout undo`), so the cluster sees the same patches.
 * Each returns the Deployment as the API server answered the patch.
 */
import { isDeepStrictEqual } from 'node:util';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import type { KubeClient } from './client.js';
import type { KubeClients } from './clients.js';
import { callContext, dryRunQuery } from './crud-actions.js';
import { restartDeploymentInputSchema, rollbackDeploymentInputSchema, scaleDeploymentInputSchema } from './inputs.js';
import { bundleFqn, resourceByKind, resourcePath } from './resources.js';

const DEPLOYMENT = resourceByKind('Deployment');
const REPLICA_SET = resourceByKind('ReplicaSet');

const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Annotations kubectl keeps from the Deployment rather than copying from the ReplicaSet. */
const ANNOTATIONS_TO_SKIP: ReadonlySet<string> = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

interface Meta {
  name?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ uid?: string; controller?: boolean }>;
}
interface PodTemplate {
  metadata?: Meta;
  [key: string]: unknown;
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
interface DeploymentLike {
  metadata?: Meta;
  spec?: { paused?: boolean; selector?: LabelSelector; template?: PodTemplate };
}
interface ReplicaSetLike {
  metadata?: Meta;
  spec?: { template?: PodTemplate };
}

/** RFC 3339 without fractions, like Go's time.RFC3339 that kubectl writes. */
function rfc3339Now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function patchDeployment(
  client: KubeClient,
  ctx: ActionContext,
  ref: { namespace: string; name: string },
  patch: unknown,
  contentType: string,
  dryRun: boolean | undefined,
): Promise<unknown> {
  return client.json(
    { method: 'PATCH', path: resourcePath(DEPLOYMENT, ref), query: dryRunQuery(dryRun), body: patch, contentType },
    callContext(ctx),
  );
}

/** A label selector object as the query-string form the API takes. */
export function selectorString(selector: LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

function withoutHash(template: PodTemplate | undefined): PodTemplate {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) {
    const { [POD_TEMPLATE_HASH]: _hash, ...labels } = copy.metadata.labels;
    copy.metadata.labels = labels;
  }
  return copy;
}

function revisionOf(rs: ReplicaSetLike): number | undefined {
  const raw = rs.metadata?.annotations?.[REVISION_ANNOTATION];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) ? n : undefined;
}

/** kubectl's choice: `toRevision` if given, else the highest revision below the latest. */
export function pickRevision(replicaSets: readonly ReplicaSetLike[], toRevision: number): ReplicaSetLike | undefined {
  if (toRevision > 0) return replicaSets.find((rs) => revisionOf(rs) === toRevision);
  const sorted = replicaSets
    .flatMap((rs) => {
      const revision = revisionOf(rs);
      return revision === undefined ? [] : [{ rs, revision }];
    })
    .sort((a, b) => b.revision - a.revision);
  return sorted[1]?.rs;
}

/** The JSON Patch kubectl sends: replace the pod template and the annotations. */
export function rollbackPatch(deployment: DeploymentLike, rs: ReplicaSetLike): unknown[] {
  const template = withoutHash(rs.spec?.template);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(deployment.metadata?.annotations ?? {})) if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(rs.metadata?.annotations ?? {})) if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  return [
    { op: 'replace', path: '/spec/template', value: template },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
}

export function deploymentActions(clients: KubeClients): RegisteredAction[] {
  return [
    defineAction({
      fqn: bundleFqn('apps', 'restartDeployment'),
      inputSchema: restartDeploymentInputSchema,
      run: async (inputs, ctx) => {
        const client = await clients.forTask(ctx);
        const patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: rfc3339Now() } } } } };
        return patchDeployment(client, ctx, inputs, patch, 'application/strategic-merge-patch+json', inputs.dryRun);
      },
    }),
    defineAction({
      fqn: bundleFqn('apps', 'scaleDeployment'),
      inputSchema: scaleDeploymentInputSchema,
      run: async (inputs, ctx) => {
        const client = await clients.forTask(ctx);
        return patchDeployment(client, ctx, inputs, { spec: { replicas: inputs.replicas } }, 'application/merge-patch+json', inputs.dryRun);
      },
    }),
    defineAction({
      fqn: bundleFqn('apps', 'rollbackDeployment'),
      inputSchema: rollbackDeploymentInputSchema,
      run: async (inputs, ctx) => {
        const client = await clients.forTask(ctx);
        const call = callContext(ctx);
        const deployment = (await client.json({ method: 'GET', path: resourcePath(DEPLOYMENT, inputs) }, call)) as DeploymentLike;
        if (deployment.spec?.paused) {
          throw new ParError(
            'PAR_ERR_K8S_ROLLBACK_UNAVAILABLE',
            `deployment ${inputs.namespace}/${inputs.name} is paused; resume it first`,
          );
        }
        const list = (await client.json(
          {
            method: 'GET',
            path: resourcePath(REPLICA_SET, { namespace: inputs.namespace }),
            query: { labelSelector: selectorString(deployment.spec?.selector) },
          },
          call,
        )) as { items?: ReplicaSetLike[] };
        const uid = deployment.metadata?.uid;
        const owned = (list.items ?? []).filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller === true && o.uid === uid));
        const toRevision = inputs.toRevision ?? 0;
        const target = pickRevision(owned, toRevision);
        if (!target) {
          const what = toRevision > 0 ? `revision ${toRevision} not found` : 'no previous revision (no rollout history)';
          throw new ParError('PAR_ERR_K8S_ROLLBACK_UNAVAILABLE', `deployment ${inputs.namespace}/${inputs.name}: ${what}`);
        }
        // kubectl skips the patch when the template already matches that revision.
        if (isDeepStrictEqual(withoutHash(target.spec?.template), withoutHash(deployment.spec?.template))) return deployment;
        ctx.logger.debug({ revision: revisionOf(target) }, 'rolling back deployment');
        return patchDeployment(client, ctx, inputs, rollbackPatch(deployment, target), 'application/json-patch+json', inputs.dryRun);
      },
    }),
  ];
}
