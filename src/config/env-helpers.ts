/**
 * The building blocks of every process's settings schema (src/config/<process>.ts): one integer,
 * one boolean, one list, one log level, so a value means the same in every process. Settings
 * arrive as strings from the environment, or typed from code (overrides, tests).
 */
import { z } from 'zod';
import { splitGlobList, splitList } from './env-source.js';

/** An integer in [min, max]; an environment string is converted ("lots" is refused, not NaN). */
export function envInt(min: number, max: number) {
  return z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
}

/** The spellings a boolean setting accepts, exactly (case-sensitive, as the settings always took them). */
export const BOOL_TRUE = ['true', '1', 'yes'] as const;
export const BOOL_FALSE = ['false', '0', 'no'] as const;

/**
 * A boolean: `true`/`1`/`yes` or `false`/`0`/`no` from the environment, or a boolean from code.
 * (The runner's copy took strings only, the worker's strings or booleans: this is the broader.)
 */
export function envBool() {
  return z.union([z.boolean(), z.stringbool({ truthy: [...BOOL_TRUE], falsy: [...BOOL_FALSE], case: 'sensitive' })], {
    error: `must be one of ${[...BOOL_TRUE, ...BOOL_FALSE].join(', ')}`,
  });
}

/** A comma- or newline-separated list (`a, b`), or an array from code. */
export function envList<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (typeof v === 'string' ? splitList(v) : v), z.array(item));
}

/** Like envList, but a comma inside `{…}` belongs to a glob's alternatives (`db.{eu,us}.corp`). */
export function envGlobList<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => (typeof v === 'string' ? splitGlobList(v) : v), z.array(item));
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** pino's levels; `silent` logs nothing. */
export function envLogLevel() {
  return z.enum(LOG_LEVELS).default('info');
}

/**
 * Marks a setting as secret (keys, tokens, identities): docs/configuration.md says so and
 * `.env.example` leaves it blank. Apply before `.optional()` / `.default()`.
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ secret: true });
}
