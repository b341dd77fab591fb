/**
 * Reading settings from an environment map. Each setting names the environment variables it
 * accepts, first match wins: the project's own `PAR_*` name first, then the seed's names, so a
 * config written for the vendor's runner works as is. Only the loaders in this folder call this.
 */
import type { z } from 'zod';
import { ParError } from '../errors/par-error.js';

export type Env = Readonly<Record<string, string | undefined>>;

export type SettingSources<K extends string> = Readonly<Record<K, readonly string[]>>;

/** Picks, for each setting, the first environment variable that is set and not empty. */
export function collect<K extends string>(env: Env, sources: SettingSources<K>): { raw: Partial<Record<K, string>>; from: Partial<Record<K, string>> } {
  const raw: Partial<Record<K, string>> = {};
  const from: Partial<Record<K, string>> = {};
  for (const key of Object.keys(sources) as K[]) {
    for (const name of sources[key]) {
      const value = env[name];
      if (value !== undefined && value !== '') {
        raw[key] = value;
        from[key] = name;
        break;
      }
    }
  }
  return { raw, from };
}

/**
 * Validates raw settings and freezes the result. A failure names the setting the way the user
 * set it (the environment variable, or the first accepted name when it was not set).
 */
export function parseSettings<S extends z.ZodType, K extends string>(
  schema: S,
  raw: Record<string, unknown>,
  sources: SettingSources<K>,
  from: Partial<Record<K, string>>,
): Readonly<z.infer<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const name = from[key as K] ?? sources[key as K]?.[0] ?? key;
    throw new ParError('PAR_ERR_CONFIG_INVALID', `${name}: ${issue?.message ?? 'invalid'}`);
  }
  return Object.freeze(result.data);
}

/** Splits a comma- or newline-separated list, trimming blanks. */
export function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(/[,\n]/).map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Like splitList, but a comma inside `{…}` belongs to a glob's alternatives (`db.{eu,us}.corp`). */
export function splitGlobList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of value) {
    if (c === '{') depth++;
    if (c === '}' && depth > 0) depth--;
    if ((c === ',' && depth === 0) || c === '\n') {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  items.push(current);
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}
