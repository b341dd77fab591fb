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
export function collect<K extends string>(
  env: Env,
  sources: SettingSources<K>,
): { raw: Partial<Record<K, string>>; from: Partial<Record<K, string>> } {
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

/** One invalid setting: its name as the user set it (or its first accepted name), and the problem. */
export interface SettingProblem {
  readonly setting: string;
  readonly message: string;
}

/** PAR_ERR_CONFIG_INVALID naming every invalid setting at once; `settings` lists them one by one. */
export class ConfigInvalidError extends ParError {
  readonly settings: readonly SettingProblem[];

  constructor(settings: readonly SettingProblem[]) {
    super('PAR_ERR_CONFIG_INVALID', settings.map((p) => `${p.setting}: ${p.message}`).join('; '));
    this.settings = settings;
  }
}

/**
 * Validates raw settings and freezes the result. A failure reports every invalid setting, each
 * named the way the user set it (the environment variable, or the first accepted name when it
 * was not set). Checks across settings (one must not exceed another) run once each is valid.
 */
export function parseSettings<S extends z.ZodType, K extends string>(
  schema: S,
  raw: Record<string, unknown>,
  sources: SettingSources<K>,
  from: Partial<Record<K, string>>,
): Readonly<z.infer<S>> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems: SettingProblem[] = [];
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '');
      const setting = from[key as K] ?? (sources[key as K] as readonly string[] | undefined)?.[0] ?? (key || '(settings)');
      const message = issue.message || 'invalid';
      if (!problems.some((p) => p.setting === setting && p.message === message)) problems.push({ setting, message });
    }
    throw new ConfigInvalidError(problems);
  }
  return Object.freeze(result.data);
}

/**
 * Reads a process's settings: each from the first of its environment variables that is set,
 * then `overrides` (command-line flags; undefined ones ignored), validated all at once.
 * `flagNames` names the settings that only come from flags, for the error message.
 */
export function loadSettings<S extends z.ZodType, K extends string>(
  schema: S,
  sources: SettingSources<K>,
  env: Env,
  overrides: Readonly<Record<string, unknown>> = {},
  flagNames: Readonly<Record<string, string>> = {},
): Readonly<z.infer<S>> {
  const { raw, from } = collect(env, sources);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const names: Record<string, readonly string[]> = { ...sources };
  for (const [key, flag] of Object.entries(flagNames)) names[key] = [flag];
  return parseSettings(schema, { ...raw, ...defined }, names as SettingSources<string>, from as Partial<Record<string, string>>);
}

/** Splits a comma- or newline-separated list, trimming blanks. */
export function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
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
