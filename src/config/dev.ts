/** Settings of `par start`: the whole system on this host. */
import { z } from 'zod';
import { collect, parseSettings, type Env } from './env-source.js';

const sources = {
  redisUrl: ['PAR_REDIS_URL', 'REDIS_URL'],
  stateDir: ['PAR_HOME'],
  controlPlanePort: ['PAR_CP_PORT'],
  runnerAdminPort: ['PAR_RUNNER_ADMIN_PORT'],
  runnerName: ['PAR_RUNNER_NAME', 'RUNNER_NAME'],
  allowlist: ['PAR_ACTIONS_ALLOWLIST', 'ACTIONS_ALLOWLIST', 'DD_PRIVATE_ACTION_RUNNER_ACTIONS_ALLOWLIST'],
  workers: ['PAR_WORKERS'],
  adminApiKey: ['PAR_ADMIN_API_KEY'],
  adminAppKey: ['PAR_ADMIN_APP_KEY'],
  logLevel: ['PAR_LOG_LEVEL', 'LOG_LEVEL'],
} as const;

export const devConfigSchema = z.object({
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  stateDir: z.string().default('.par'),
  controlPlanePort: z.coerce.number().int().min(0).max(65535).default(7700),
  runnerAdminPort: z.coerce.number().int().min(0).max(65535).default(9016),
  runnerName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).default('local-runner'),
  allowlist: z.string().default('com.datadoghq.http.*'),
  workers: z.coerce.number().int().min(1).max(64).default(2),
  adminApiKey: z.string().min(16).optional(),
  adminAppKey: z.string().min(16).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type DevConfig = Readonly<z.infer<typeof devConfigSchema>> & {
  /** The `OTEL_*` variables, passed on to every child so `par start` traces when asked (tracing, issue 11). */
  readonly otelEnv?: Readonly<Record<string, string>>;
};

export function loadDevConfig(env: Env): DevConfig {
  const { raw, from } = collect(env, sources);
  const otelEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('OTEL_') && e[1] !== undefined));
  return Object.freeze({ ...parseSettings(devConfigSchema, raw, sources, from), otelEnv });
}
