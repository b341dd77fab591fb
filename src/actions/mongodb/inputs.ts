/**
 * Input schemas of the `com.datadoghq.mongodb` actions, in the vendor's shapes (its Go input
 * structs): `collection` plus `filter`, `update`, `document(s)`, `replacement`, `keys`, `upsert`
 * and `options`. Filters pass the vendor's filter rules (filter.ts) here, so a refused filter is
 * an input error and never reaches the server. Option objects accept their field names in any
 * case, as Go's JSON decoding does (`Upsert`, `upsert`), and refuse unknown fields rather than
 * ignore them.
 */
import { z } from 'zod';
import { FILTER_HELP, filterProblem } from './filter.js';

/** MongoDB's own limit on a namespace is 255 bytes; a collection name is part of it. */
const collection = z
  .string()
  .min(1, 'collection is required')
  .max(255)
  .refine((c) => !c.includes('\0') && !c.startsWith('$') && !c.startsWith('system.'), 'is not a usable collection name');

const document = z.record(z.string(), z.unknown());

const filter = document.superRefine((value, ctx) => {
  const problem = filterProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}. A valid filter uses ${FILTER_HELP}` });
});

/** Go's encoding/json matches field names case-insensitively; so do these option objects. */
function goOptions<T extends z.ZodRawShape>(shape: T) {
  const names = Object.keys(shape);
  return z.preprocess((value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[names.find((n) => n.toLowerCase() === key.toLowerCase()) ?? key] = v;
    return out;
  }, z.object(shape).strict());
}

const direction = z.union([z.literal(1), z.literal(-1)]);

export const findInputSchema = z.object({ collection, filter: filter.default({}) });

export const insertOneInputSchema = z.object({ collection, document });

export const insertManyInputSchema = z.object({
  collection,
  documents: z.array(document).min(1, 'at least one document').max(100_000),
  options: goOptions({
    ordered: z.boolean().optional(),
    bypassDocumentValidation: z.boolean().optional(),
    comment: z.string().optional(),
  }).optional(),
});

/** `update` is an update document ($set, $inc, ...); the driver refuses one without operators. */
export const updateInputSchema = z.object({ collection, filter: filter.default({}), update: document });

export const replaceOneInputSchema = z.object({
  collection,
  filter: filter.default({}),
  replacement: document,
  upsert: z.boolean().default(false),
});

export const countDocumentsInputSchema = z.object({ collection, filter: filter.default({}) });

export const createIndexInputSchema = z.object({
  collection,
  keys: z
    .record(z.string().min(1), z.number().int().min(-2_147_483_648).max(2_147_483_647))
    .refine((k) => Object.keys(k).length > 0, 'at least one key'),
  options: goOptions({
    name: z.string().min(1).max(1024).optional(),
    unique: z.boolean().optional(),
    sparse: z.boolean().optional(),
    hidden: z.boolean().optional(),
    background: z.boolean().optional(),
    expireAfterSeconds: z.number().int().min(0).max(2_147_483_647).optional(),
    partialFilterExpression: filter.optional(),
  }).optional(),
});

const returnDocument = z
  .union([z.enum(['before', 'after', 'Before', 'After']), z.literal(0), z.literal(1)])
  .transform((v) => (v === 1 || v === 'after' || v === 'After' ? ('after' as const) : ('before' as const)));

export const findAndModifyInputSchema = z.object({
  collection,
  filter: filter.default({}),
  update: document,
  options: goOptions({
    returnDocument: returnDocument.optional(),
    upsert: z.boolean().optional(),
    sort: z.record(z.string().min(1), direction).optional(),
    projection: z.record(z.string().min(1), z.union([z.literal(0), z.literal(1), z.boolean()])).optional(),
    bypassDocumentValidation: z.boolean().optional(),
  }).optional(),
});

export const testConnectionInputSchema = z.object({}).loose();
