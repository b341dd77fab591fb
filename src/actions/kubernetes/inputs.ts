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

const deleteFields = {
  dryRun: dryRunSchema.optional(),
  gracePeriodSeconds: z.number().int().min(0).max(31_536_000).optional(),
  propagationPolicy: z.enum(['Orphan', 'Background', 'Foreground']).optional(),
};

/**
 * The input schema of one generated action; `namespaced` says whether `namespace` applies;
 * `extra` adds fields to every verb (custom objects' group, version, plural); `patchTypes` limits
 * the patch types (custom objects have no strategic merge).
 */
export function crudInputSchema(
  verb: 'list' | 'get' | 'create' | 'update' | 'patch' | 'delete' | 'deleteMultiple',
  namespaced: boolean,
  extra: z.ZodRawShape = {},
  patchTypes: readonly [PatchType, ...PatchType[]] = ['json', 'merge', 'strategic-merge'],
) {
  // A namespaced kind listed without a namespace is listed across all namespaces; a
  // deletecollection always needs its namespace (never every namespace at once).
  const ns = { ...extra, ...(namespaced ? { namespace: verb === 'list' ? namespaceSchema.optional() : namespaceSchema } : {}) };
  switch (verb) {
    case 'deleteMultiple':
      return z
        .object({
          ...ns,
          labelSelector: listFields.labelSelector,
          fieldSelector: listFields.fieldSelector,
          limit: listFields.limit,
          ...deleteFields,
        })
        .strict();
    case 'list':
      return z.object({ ...ns, ...listFields }).strict();
    case 'get':
      return z.object({ ...ns, name: nameSchema }).strict();
    case 'create':
      return z.object({ ...ns, body: objectBody, dryRun: dryRunSchema.optional(), fieldManager: z.string().max(128).optional() }).strict();
    case 'update':
      return z
        .object({
          ...ns,
          name: nameSchema,
          body: objectBody,
          dryRun: dryRunSchema.optional(),
          fieldManager: z.string().max(128).optional(),
        })
        .strict();
    case 'patch':
      return z
        .object({
          ...ns,
          name: nameSchema,
          /** A JSON Patch (RFC 6902) array, or a merge patch object. */
          body: z.union([z.array(jsonPatchOp).min(1), objectBody]),
          /** Default: `json` for an array body, `strategic-merge` for an object (as kubectl does; `merge` where strategic merge does not exist). */
          patchType: z.enum(patchTypes).optional(),
          dryRun: dryRunSchema.optional(),
          fieldManager: z.string().max(128).optional(),
        })
        .strict()
        .refine((v) => v.patchType === undefined || (v.patchType === 'json') === Array.isArray(v.body), {
          error: 'a json patch body is an array of operations; a merge patch body is an object',
          path: ['body'],
        });
    case 'delete':
      return z.object({ ...ns, name: nameSchema, ...deleteFields }).strict();
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

/**
 * A Kubernetes quantity as resource.ParseQuantity reads it: a signed decimal number with an
 * optional binary (Ki..Ei), decimal (n, u, m, k, M..E) or exponent suffix: "100m", "0.5", "1Gi", "1e3".
 */
export const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;
const quantitySchema = z.string().max(64).regex(QUANTITY, 'must be a Kubernetes quantity such as "100m", "0.5", "128Mi" or "1Gi"');
const resourceValues = z.object({ cpu: quantitySchema.optional(), memory: quantitySchema.optional() }).strict();

/** The vendor's ContainerResourceUpdate list (scaleDeploymentVertically, scaleStatefulSetVertically). */
export const verticalScaleInputSchema = z
  .object({
    namespace: namespaceSchema,
    name: nameSchema,
    containerUpdates: z
      .array(
        z
          .object({
            containerName: z.string().min(1, 'containerName cannot be empty').max(253),
            requests: resourceValues.optional(),
            limits: resourceValues.optional(),
          })
          .strict(),
      )
      .min(1, 'containerUpdates cannot be empty'),
  })
  .strict();
export type VerticalScaleInput = z.output<typeof verticalScaleInputSchema>;

export const scaleStatefulSetInputSchema = z
  .object({ namespace: namespaceSchema, name: nameSchema, replicas: z.number().int().min(0).max(2_147_483_647) })
  .strict();

/** The vendor's checks, in its order: one of the two, min >= 0, max >= 1, min <= max. */
export const autoscalerLimitsInputSchema = z
  .object({
    namespace: namespaceSchema,
    name: nameSchema,
    minReplicas: z.number().int().min(0, 'minReplicas must be greater than or equal to 0').max(2_147_483_647).optional(),
    maxReplicas: z.number().int().min(1, 'maxReplicas must be greater than or equal to 1').max(2_147_483_647).optional(),
  })
  .strict()
  .refine((v) => v.minReplicas !== undefined || v.maxReplicas !== undefined, {
    error: 'at least one of minReplicas or maxReplicas must be provided',
  })
  .refine((v) => v.minReplicas === undefined || v.maxReplicas === undefined || v.minReplicas <= v.maxReplicas, {
    error: 'minReplicas must be less than or equal to maxReplicas',
    path: ['minReplicas'],
  });

export const cronJobScheduleInputSchema = z
  .object({
    namespace: namespaceSchema,
    name: nameSchema,
    schedule: z.string().min(1).max(256).optional(),
    timeZone: z.string().min(1).max(128).optional(),
    suspend: z.boolean().optional(),
    dryRun: dryRunSchema.optional(),
  })
  .strict()
  .refine((v) => v.schedule !== undefined || v.timeZone !== undefined || v.suspend !== undefined, {
    error: 'at least one of schedule, timeZone, or suspend must be provided',
  });

/** RFC 1035 label: a version or a resource plural in a custom object's path (the vendor's check). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const customResourceShape = {
  group: z.string().max(253).regex(DNS_SUBDOMAIN, 'must be a DNS subdomain (e.g. example.com)'),
  version: z.string().max(63).regex(DNS_1035_LABEL, 'must be an RFC 1035 label (e.g. v1, v1beta1)'),
  plural: z.string().max(63).regex(DNS_1035_LABEL, 'must be an RFC 1035 label (the resource plural, e.g. widgets)'),
};
