/**
 * The list/get/create/update/patch/delete actions, generated from the resource table: one
 * generic request per verb, the path from the row. Outputs are what the API server answered:
 * the object, the list (`items`, `metadata.continue`), or for delete the object or Status.
 */
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import type { KubeCallContext, KubeRequest } from './client.js';
import type { KubeClients } from './clients.js';
import { crudInputSchema, PATCH_CONTENT_TYPES, type PatchType } from './inputs.js';
import {
  apiVersionOf,
  bundleFqn,
  KUBE_RESOURCES,
  resourcePath,
  type KubeBundleName,
  type KubeResource,
  type KubeVerb,
} from './resources.js';

/** The union of every verb's inputs, after validation (each schema admits only its own fields). */
export interface CrudInputs {
  namespace?: string;
  name?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  body?: Record<string, unknown> | unknown[];
  patchType?: PatchType;
  dryRun?: boolean;
  fieldManager?: string;
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
}

export function callContext(ctx: ActionContext): KubeCallContext {
  return { signal: ctx.signal, maxResponseBytes: ctx.limits.httpMaxResponseBytes };
}

export function dryRunQuery(dryRun: boolean | undefined): { dryRun?: string } {
  return dryRun ? { dryRun: 'All' } : {};
}

/** Fills apiVersion, kind (and metadata.name on update) when the caller left them out (a custom object's kind is the caller's). */
function withTypeMeta(r: KubeResource, body: Record<string, unknown>, name?: string): Record<string, unknown> {
  const metadata = (body['metadata'] && typeof body['metadata'] === 'object' ? body['metadata'] : {}) as Record<string, unknown>;
  return {
    apiVersion: apiVersionOf(r),
    ...(r.kind === '' ? {} : { kind: r.kind }),
    ...body,
    metadata: name !== undefined && metadata['name'] === undefined ? { ...metadata, name } : metadata,
  };
}

export function buildCrudRequest(r: KubeResource, verb: KubeVerb, inputs: CrudInputs): KubeRequest {
  const at = { namespace: inputs.namespace, name: inputs.name };
  const write = { ...dryRunQuery(inputs.dryRun), fieldManager: inputs.fieldManager };
  switch (verb) {
    case 'list':
      return {
        method: 'GET',
        path: resourcePath(r, { namespace: inputs.namespace }),
        query: {
          labelSelector: inputs.labelSelector,
          fieldSelector: inputs.fieldSelector,
          limit: inputs.limit,
          continue: inputs.continue,
          resourceVersion: inputs.resourceVersion,
        },
      };
    case 'get':
      return { method: 'GET', path: resourcePath(r, at) };
    case 'create':
      return {
        method: 'POST',
        path: resourcePath(r, { namespace: inputs.namespace }),
        query: write,
        body: withTypeMeta(r, inputs.body as Record<string, unknown>),
      };
    case 'update':
      return {
        method: 'PUT',
        path: resourcePath(r, at),
        query: write,
        body: withTypeMeta(r, inputs.body as Record<string, unknown>, inputs.name),
      };
    case 'patch': {
      const type = inputs.patchType ?? (Array.isArray(inputs.body) ? 'json' : 'strategic-merge');
      return { method: 'PATCH', path: resourcePath(r, at), query: write, body: inputs.body, contentType: PATCH_CONTENT_TYPES[type] };
    }
    case 'delete':
      return {
        method: 'DELETE',
        path: resourcePath(r, at),
        query: {
          ...dryRunQuery(inputs.dryRun),
          gracePeriodSeconds: inputs.gracePeriodSeconds,
          propagationPolicy: inputs.propagationPolicy,
        },
      };
    case 'deleteMultiple':
      // As client-go's DeleteCollection sends it: list options in the query, DeleteOptions as the body.
      return {
        method: 'DELETE',
        path: resourcePath(r, { namespace: inputs.namespace }),
        query: { labelSelector: inputs.labelSelector, fieldSelector: inputs.fieldSelector, limit: inputs.limit },
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          ...(inputs.dryRun ? { dryRun: ['All'] } : {}),
          ...(inputs.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: inputs.gracePeriodSeconds } : {}),
          ...(inputs.propagationPolicy !== undefined ? { propagationPolicy: inputs.propagationPolicy } : {}),
        },
      };
  }
}

export function crudActionName(r: KubeResource, verb: KubeVerb): string {
  return bundleFqn(r.bundle, verb === 'deleteMultiple' ? `deleteMultiple${r.kinds ?? `${r.kind}s`}` : `${verb}${r.kind}`);
}

/** Runs one generated request; a deletecollection answers `{}` as the vendor's actions do (the API's list of deleted objects is dropped). */
export async function runCrud(
  clients: KubeClients,
  r: KubeResource,
  verb: KubeVerb,
  inputs: CrudInputs,
  ctx: ActionContext,
): Promise<unknown> {
  const client = await clients.forTask(ctx);
  const req = buildCrudRequest(r, verb, inputs);
  ctx.logger.debug({ method: req.method, path: req.path }, 'kubernetes request');
  const out = await client.json(req, callContext(ctx));
  return verb === 'deleteMultiple' ? {} : out;
}

export function crudActions(bundle: KubeBundleName, clients: KubeClients): RegisteredAction[] {
  return KUBE_RESOURCES.filter((r) => r.bundle === bundle).flatMap((r) =>
    r.verbs.map((verb) =>
      defineAction({
        fqn: crudActionName(r, verb),
        inputSchema: crudInputSchema(verb, r.namespaced),
        run: (inputs, ctx) => runCrud(clients, r, verb, inputs as CrudInputs, ctx),
      }),
    ),
  );
}
