/**
 * The vendor's newer workload actions, sending the same patches its handlers send:
 * - `apps.scaleDeploymentVertically` / `apps.scaleStatefulSetVertically`: read the workload, check
 *   every named container exists, then one strategic merge patch of
 *   `spec.template.spec.containers[{name, resources: {requests, limits}}]` (containers merge by
 *   name, so images and other containers stay); output `{metadata, spec, status}`.
 * - `apps.scaleStatefulSetHorizontally`: merge patch `{spec: {replicas}}`; output `{metadata, spec, status}`.
 * - `autoscaling.updateAutoscalerLimits`: merge patch of an autoscaling/v2 HorizontalPodAutoscaler's
 *   `spec.minReplicas` / `spec.maxReplicas`; output `{horizontalPodAutoscaler}`.
 * - `batch.updateCronJobSchedule`: merge patch of `spec.schedule` / `spec.timeZone` /
 *   `spec.suspend` (dryRun honoured); output `{cronJob}`.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import type { KubeClients } from './clients.js';
import { callContext, dryRunQuery } from './crud-actions.js';
import {
  autoscalerLimitsInputSchema,
  cronJobScheduleInputSchema,
  scaleStatefulSetInputSchema,
  verticalScaleInputSchema,
  type VerticalScaleInput,
} from './inputs.js';
import { bundleFqn, resourceByKind, resourcePath, type KubeResource } from './resources.js';

const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';

type Json = Record<string, unknown>;

/** The vendor's output shape for a patched workload: its metadata, spec and status only. */
function workloadOutput(obj: unknown): { metadata: unknown; spec: unknown; status: unknown } {
  const o = (obj ?? {}) as Json;
  return { metadata: o['metadata'] ?? {}, spec: o['spec'] ?? {}, status: o['status'] ?? {} };
}

/** The strategic merge patch the vendor builds from containerUpdates (only given values appear). */
export function verticalPatch(updates: VerticalScaleInput['containerUpdates']): Json {
  const containers = updates.map((u) => {
    const resources: Json = {};
    for (const part of ['requests', 'limits'] as const) {
      const values = u[part];
      const set: Json = {};
      if (values?.cpu !== undefined) set['cpu'] = values.cpu;
      if (values?.memory !== undefined) set['memory'] = values.memory;
      if (Object.keys(set).length > 0) resources[part] = set;
    }
    return { name: u.containerName, ...(Object.keys(resources).length > 0 ? { resources } : {}) };
  });
  return { spec: { template: { spec: { containers } } } };
}

async function patch(
  clients: KubeClients,
  ctx: ActionContext,
  r: KubeResource,
  ref: { namespace: string; name: string },
  body: unknown,
  contentType: string,
  dryRun?: boolean,
): Promise<unknown> {
  const client = await clients.forTask(ctx);
  return client.json({ method: 'PATCH', path: resourcePath(r, ref), query: dryRunQuery(dryRun), body, contentType }, callContext(ctx));
}

function verticalAction(clients: KubeClients, kind: 'Deployment' | 'StatefulSet', label: string): RegisteredAction {
  const r = resourceByKind(kind);
  return defineAction({
    fqn: bundleFqn('apps', `scale${kind}Vertically`),
    inputSchema: verticalScaleInputSchema,
    run: async (inputs, ctx) => {
      const client = await clients.forTask(ctx);
      const current = (await client.json({ method: 'GET', path: resourcePath(r, inputs) }, callContext(ctx))) as {
        spec?: { template?: { spec?: { containers?: Array<{ name?: string }> } } };
      };
      const names = new Set((current.spec?.template?.spec?.containers ?? []).map((c) => c.name));
      for (const u of inputs.containerUpdates) {
        if (!names.has(u.containerName))
          throw new ParError('PAR_ERR_INPUT_INVALID', `container ${u.containerName} not found in ${label} ${inputs.name}`);
      }
      return workloadOutput(await patch(clients, ctx, r, inputs, verticalPatch(inputs.containerUpdates), STRATEGIC));
    },
  });
}

export function scalingActions(clients: KubeClients): {
  apps: RegisteredAction[];
  autoscaling: RegisteredAction[];
  batch: RegisteredAction[];
} {
  const statefulSet = resourceByKind('StatefulSet');
  return {
    apps: [
      verticalAction(clients, 'Deployment', 'deployment'),
      verticalAction(clients, 'StatefulSet', 'stateful set'),
      defineAction({
        fqn: bundleFqn('apps', 'scaleStatefulSetHorizontally'),
        inputSchema: scaleStatefulSetInputSchema,
        run: async (inputs, ctx) =>
          workloadOutput(await patch(clients, ctx, statefulSet, inputs, { spec: { replicas: inputs.replicas } }, MERGE)),
      }),
    ],
    autoscaling: [
      defineAction({
        fqn: bundleFqn('autoscaling', 'updateAutoscalerLimits'),
        inputSchema: autoscalerLimitsInputSchema,
        run: async (inputs, ctx) => {
          const spec: Json = {};
          if (inputs.minReplicas !== undefined) spec['minReplicas'] = inputs.minReplicas;
          if (inputs.maxReplicas !== undefined) spec['maxReplicas'] = inputs.maxReplicas;
          return { horizontalPodAutoscaler: await patch(clients, ctx, resourceByKind('HorizontalPodAutoscaler'), inputs, { spec }, MERGE) };
        },
      }),
    ],
    batch: [
      defineAction({
        fqn: bundleFqn('batch', 'updateCronJobSchedule'),
        inputSchema: cronJobScheduleInputSchema,
        run: async (inputs, ctx) => {
          const spec: Json = {};
          if (inputs.schedule !== undefined) spec['schedule'] = inputs.schedule;
          if (inputs.timeZone !== undefined) spec['timeZone'] = inputs.timeZone;
          if (inputs.suspend !== undefined) spec['suspend'] = inputs.suspend;
          return { cronJob: await patch(clients, ctx, resourceByKind('CronJob'), inputs, { spec }, MERGE, inputs.dryRun) };
        },
      }),
    ],
  };
}
