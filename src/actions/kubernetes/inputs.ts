/**
 * Input schemas of the Kubernetes bundles, with the vendor's (and the Kubernetes API's) input
 * names: namespace, name, labelSelector, fieldSelector, limit, continue, body, dryRun,
 * gracePeriodSeconds, propagationPolicy. Names and namespaces are checked against the Kubernetes
 * formats here, so a task can never steer the request path (`..`, `/`).
 */
import { z } from 'zod';

/** RFC 1123 subdomain: what Kubernetes accepts as most object names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** RFC 1123 label: namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const nameSchema = z.string().max(253).regex(DNS_SUBDOMAIN, 'must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-", ".")');
export const namespaceSchema = z.string().max(63).regex(DNS_LABEL, 'must be a lowercase RFC 1123 label (a-z, 0-9, "-")');

/** `dryRun`: the API's `"All"` (or `["All"]`), or a boolean; normalised to a boolean. */
export const dryRunSchema = z
  .union([z.boolean(), z.literal('All'), z.array(z.literal('All')).max(1)])
  .transform((v) => v === true || v === 'All' || (Array.isArray(v) && v.length === 1));

const objectBody = z.record(z.string(), z.unknown());

const jsonPatchOp = z.object({
  op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
  path: z.string().regex(/^(\/.*)?$/, 'must be a JSON Pointer'),
  value: z.unknown().optional(),
  from: z.string().optional(),
});

export const PATCH_CONTENT_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  'strategic-merge': 'application/strategic-merge-patch+json',
} as const;
export type PatchType = keyof typeof PATCH_CONTENT_TYPES;

const listFields = {
  labelSelector: z.string().max(4096).optional(),
  fieldSelector: z.string().max(4096).optional(),
  limit: z.number().int().positive().max(1_000_000).optional(),
  continue: z.string().max(8192).optional(),
  resourceVersion: z.string().max(64).optional(),
};

/** The input schema of one generated action; `namespaced` says whether `namespace` applies. */
export function crudInputSchema(verb: 'list' | 'get' | 'create' | 'update' | 'patch' | 'delete', namespaced: boolean) {
  // A namespaced kind listed without a namespace is listed across all namespaces.
  const ns = namespaced ? { namespace: verb === 'list' ? namespaceSchema.optional() : namespaceSchema } : {};
  switch (verb) {
    case 'list':
      return z.object({ ...ns, ...listFields }).strict();
    case 'get':
      return z.object({ ...ns, name: nameSchema }).strict();
    case 'create':
      return z.object({ ...ns, body: objectBody, dryRun: dryRunSchema.optional(), fieldManager: z.string().max(128).optional() }).strict();
    case 'update':
      return z.object({ ...ns, name: nameSchema, body: objectBody, dryRun: dryRunSchema.optional(), fieldManager: z.string().max(128).optional() }).strict();
    case 'patch':
      return z
        .object({
          ...ns,
          name: nameSchema,
          /** A JSON Patch (RFC 6902) array, or a merge patch object. */
          body: z.union([z.array(jsonPatchOp).min(1), objectBody]),
          /** Default: `json` for an array body, `strategic-merge` for an object (as kubectl does). */
          patchType: z.enum(['json', 'merge', 'strategic-merge']).optional(),
          dryRun: dryRunSchema.optional(),
          fieldManager: z.string().max(128).optional(),
        })
        .strict()
        .refine((v) => v.patchType === undefined || (v.patchType === 'json') === Array.isArray(v.body), {
          message: 'a json patch body is an array of operations; a merge patch body is an object',
          path: ['body'],
        });
    case 'delete':
      return z
        .object({
          ...ns,
          name: nameSchema,
          dryRun: dryRunSchema.optional(),
          gracePeriodSeconds: z.number().int().min(0).max(31_536_000).optional(),
          propagationPolicy: z.enum(['Orphan', 'Background', 'Foreground']).optional(),
        })
        .strict();
  }
}

export const podLogsInputSchema = z
  .object({
    namespace: namespaceSchema,
    name: nameSchema,
    container: nameSchema.optional(),
    previous: z.boolean().optional(),
    tailLines: z.number().int().min(0).max(10_000_000).optional(),
    sinceSeconds: z.number().int().positive().optional(),
    timestamps: z.boolean().optional(),
    limitBytes: z.number().int().positive().optional(),
  })
  .strict();

const deploymentRef = { namespace: namespaceSchema, name: nameSchema };

export const restartDeploymentInputSchema = z.object({ ...deploymentRef, dryRun: dryRunSchema.optional() }).strict();
export const scaleDeploymentInputSchema = z
  .object({ ...deploymentRef, replicas: z.number().int().min(0).max(1_000_000), dryRun: dryRunSchema.optional() })
  .strict();
export const rollbackDeploymentInputSchema = z
  .object({
    ...deploymentRef,
    /** 0 (default): the revision before the current one, as `kubectl rollout undo` does. */
    toRevision: z.number().int().min(0).optional(),
    dryRun: dryRunSchema.optional(),
  })
  .strict();
