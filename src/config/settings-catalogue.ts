/**
 * Every process's settings in one list: its schema, the environment variables of each setting,
 * the settings only a flag sets. docs/configuration.md and .env.example are generated from it
 * (settings-docs.ts, `npm run docs:config`), and a test checks that every variable the code
 * reads is in it. A new process config is added here.
 */
import type { z } from 'zod';
import { cliConfigSchema, cliSettingSources } from './cli.js';
import { controlPlaneConfigSchema, controlPlaneSettingSources } from './control-plane.js';
import { devConfigSchema, devSettingSources } from './dev.js';
import { healthcheckConfigSchema, healthcheckSettingSources } from './healthcheck.js';
import { RUNNER_FLAGS, runnerConfigSchema, runnerSettingSources } from './runner.js';
import { workerConfigSchema, workerSettingSources } from './worker.js';

export interface ProcessSettings {
  /** Heading of its section in docs/configuration.md. */
  readonly title: string;
  /** The commands that read these settings. */
  readonly commands: readonly string[];
  readonly schema: z.ZodType;
  readonly sources: Readonly<Record<string, readonly string[]>>;
  /** Settings set by a command-line flag only (no environment variable). */
  readonly flags: Readonly<Record<string, string>>;
}

export const PROCESS_SETTINGS: readonly ProcessSettings[] = [
  {
    title: 'Control plane',
    commands: ['par control-plane', 'par control-plane rotate-signing-key'],
    schema: controlPlaneConfigSchema,
    sources: controlPlaneSettingSources,
    flags: {},
  },
  {
    title: 'Runner',
    commands: ['par runner', 'par runner rotate-identity', 'par audit'],
    schema: runnerConfigSchema,
    sources: runnerSettingSources,
    flags: RUNNER_FLAGS,
  },
  { title: 'Worker', commands: ['par worker'], schema: workerConfigSchema, sources: workerSettingSources, flags: {} },
  { title: 'Everything on one host', commands: ['par start'], schema: devConfigSchema, sources: devSettingSources, flags: {} },
  { title: 'Health checks', commands: ['par healthcheck'], schema: healthcheckConfigSchema, sources: healthcheckSettingSources, flags: {} },
  {
    title: 'Client commands',
    commands: ['par task', 'par tasks', 'par runners', 'par connections', 'par keys'],
    schema: cliConfigSchema,
    sources: cliSettingSources,
    flags: {},
  },
];

/** Every environment variable some setting reads. */
export function allSettingNames(): Set<string> {
  return new Set(PROCESS_SETTINGS.flatMap((p) => Object.values(p.sources).flat()));
}
