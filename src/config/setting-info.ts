/**
 * What a settings schema says about each setting, read from the zod schema itself (its
 * `.describe()` text, default, range, choices, `secret()` mark): the one source of
 * docs/configuration.md and .env.example (settings-docs.ts). No I/O.
 */
import { z } from 'zod';
import { BOOL_FALSE, BOOL_TRUE } from './env-helpers.js';

export interface SettingInfo {
  /** The key in the config object. */
  readonly key: string;
  /** Environment variables that set it, the primary (PAR_*) first; empty: a flag only. */
  readonly names: readonly string[];
  /** `integer`, `string`, `URL`, `boolean`, `enum`, `list of ...`. */
  readonly type: string;
  /** Unit read from the key: `ms` for `...Ms`, `bytes` for `...Bytes`. */
  readonly unit: 'ms' | 'bytes' | undefined;
  /** The default, when the schema has one. */
  readonly default: unknown;
  readonly hasDefault: boolean;
  /** Range, choices or shape the value must have, in words; '' when anything of the type goes. */
  readonly allowed: string;
  /** The `.describe()` text; '' when the schema has none. */
  readonly description: string;
  readonly secret: boolean;
}

type AnyDef = { type: string; [k: string]: unknown };
const defOf = (s: z.ZodType): AnyDef => s._zod.def as unknown as AnyDef;

/** The object schema under `.transform()` / `.refine()` / `.superRefine()`. */
export function objectShape(schema: z.ZodType): Record<string, z.ZodType> {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    if (def.type === 'object') return def['shape'] as Record<string, z.ZodType>;
    if (def.type === 'pipe') {
      s = def['in'] as z.ZodType;
      continue;
    }
    throw new Error(`settings schema is a ${def.type}, not an object`);
  }
}

interface Walked {
  type: string;
  allowed: string;
  default: unknown;
  hasDefault: boolean;
  description: string;
  secret: boolean;
}

/** Reads one setting's schema: wrappers (default, optional, preprocess, transform) first, then the base type. */
function walk(schema: z.ZodType): Walked {
  const out: Walked = { type: 'string', allowed: '', default: undefined, hasDefault: false, description: '', secret: false };
  let s = schema;
  for (;;) {
    const meta = z.globalRegistry.get(s) as { description?: string; secret?: boolean } | undefined;
    if (!out.description && meta?.description) out.description = meta.description;
    if (meta?.secret === true) out.secret = true;
    const def = defOf(s);
    if (def.type === 'default') {
      if (!out.hasDefault) {
        out.hasDefault = true;
        out.default = def['defaultValue'];
      }
      s = def['innerType'] as z.ZodType;
      continue;
    }
    if (def.type === 'optional' || def.type === 'nullable') {
      s = def['innerType'] as z.ZodType;
      continue;
    }
    if (def.type === 'pipe') {
      const inner = defOf(def['in'] as z.ZodType);
      const outer = defOf(def['out'] as z.ZodType);
      if (inner.type === 'transform') {
        // z.preprocess(fn, schema)
        s = def['out'] as z.ZodType;
        continue;
      }
      if (outer.type === 'transform') {
        // schema.transform(fn)
        s = def['in'] as z.ZodType;
        continue;
      }
      if (inner.type === 'string' && outer.type === 'boolean') return { ...out, ...boolType() }; // z.stringbool()
      s = def['out'] as z.ZodType;
      continue;
    }
    return { ...out, ...base(s) };
  }
}

function boolType(): { type: string; allowed: string } {
  return { type: 'boolean', allowed: `${BOOL_TRUE.join(', ')} / ${BOOL_FALSE.join(', ')}` };
}

function base(s: z.ZodType): { type: string; allowed: string } {
  const def = defOf(s);
  switch (def.type) {
    case 'boolean':
      return boolType();
    case 'union': {
      const options = def['options'] as z.ZodType[];
      if (options.some((o) => defOf(o).type === 'boolean')) return boolType();
      const parts = options.map((o) => walk(o));
      return {
        type: parts.map((p) => p.type).join(' or '),
        allowed: parts
          .map((p) => p.allowed)
          .filter(Boolean)
          .join('; '),
      };
    }
    case 'enum':
      return {
        type: 'enum',
        allowed: Object.values(def['entries'] as Record<string, string>)
          .map((v) => `\`${v}\``)
          .join(', '),
      };
    case 'number': {
      const n = s as z.ZodNumber;
      const range = [n.minValue, n.maxValue].every((v) => v !== null && Number.isFinite(v))
        ? `${n.minValue} – ${n.maxValue}`
        : n.minValue !== null && Number.isFinite(n.minValue)
          ? `>= ${n.minValue}`
          : n.maxValue !== null && Number.isFinite(n.maxValue)
            ? `<= ${n.maxValue}`
            : '';
      return { type: n.format?.includes('int') ? 'integer' : 'number', allowed: range };
    }
    case 'string':
      return stringType(s as z.ZodString);
    case 'array': {
      const item = walk(def['element'] as z.ZodType);
      return {
        type: `list of ${item.type === 'enum' ? 'names' : item.type === 'string' ? 'strings' : item.type}`,
        allowed: item.allowed ? `each: ${item.allowed}` : '',
      };
    }
    default:
      return { type: def.type, allowed: '' };
  }
}

function stringType(s: z.ZodString): { type: string; allowed: string } {
  const rules: string[] = [];
  if (s.minLength !== null && s.minLength > 1) rules.push(`at least ${s.minLength} characters`);
  else if (s.minLength === 1) rules.push('not empty');
  if (s.maxLength !== null) rules.push(`at most ${s.maxLength} characters`);
  for (const check of (defOf(s)['checks'] as { _zod: { def: Record<string, unknown> } }[] | undefined) ?? []) {
    const c = check._zod.def;
    if (c['check'] !== 'string_format') continue;
    if (c['format'] === 'regex') rules.push(`matches \`${String(c['pattern'])}\``);
    if (c['format'] === 'starts_with') rules.push(`starts with \`${String(c['prefix'])}\``);
  }
  return { type: s.format === 'url' ? 'URL' : 'string', allowed: rules.join(', ') };
}

/** Every setting of a schema, in the schema's order, with the environment variables that set it. */
export function settingInfos(schema: z.ZodType, sources: Readonly<Record<string, readonly string[]>>): SettingInfo[] {
  return Object.entries(objectShape(schema)).map(([key, field]) => {
    const w = walk(field);
    const unit = /Ms$/.test(key) ? ('ms' as const) : /Bytes$/.test(key) ? ('bytes' as const) : undefined;
    return {
      key,
      names: sources[key] ?? [],
      type: w.type,
      unit,
      default: w.default,
      hasDefault: w.hasDefault,
      allowed: w.allowed,
      description: w.description,
      secret: w.secret,
    };
  });
}
