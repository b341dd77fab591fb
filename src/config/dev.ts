/** Settings of `par start`: the whole system on this host. */
import { z } from 'zod';
import { envInt, envLogLevel, secret } from './env-helpers.js';
import { loadSettings, type Env } from './env-source.js';

export const devSettingSources = {
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
  redisUrl: z
    .url()
    .default('redis://127.0.0.1:6379')
    .describe('Redis to use; when none answers there, a private redis-server is started (and forgotten at exit).'),
  stateDir: z.string().default('.par').describe("Directory of `par start`'s state: admin keys, install id, logs, the runner's config dir."),
  controlPlanePort: envInt(0, 65535).default(7700).describe('Port of the control plane; taken: any free port.'),
  runnerAdminPort: envInt(0, 65535).default(9016).describe("Port of the runner's admin server; taken: any free port."),
  runnerName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .default('local-runner')
    .describe('Name the local runner enrolls with.'),
  allowlist: z
    .string()
    .default('com.datadoghq.http.*')
    .describe('Actions the local runner and workers may run (comma-separated FQNs or globs).'),
  workers: envInt(1, 64).default(2).describe('How many worker processes to start.'),
  adminApiKey: secret(z.string().min(16))
    .optional()
    .describe(
      'Admin API key (16+ characters), used when PAR_ADMIN_APP_KEY is set too; else a pair is generated once and kept in the state dir.',
    ),
  adminAppKey: secret(z.string().min(16))
    .optional()
    .describe(
      'Admin application key (16+ characters), used when PAR_ADMIN_API_KEY is set too; else a pair is generated once and kept in the state dir.',
    ),
  logLevel: envLogLevel().describe('Log level of every process (pino).'),
});
export type DevConfig = Readonly<z.infer<typeof devConfigSchema>> & {
  /** The `OTEL_*` variables, passed on to every child so `par start` traces when asked (tracing, issue 11). */
  readonly otelEnv?: Readonly<Record<string, string>>;
};

export function loadDevConfig(env: Env): DevConfig {
  const otelEnv = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('OTEL_') && e[1] !== undefined),
  );
  return Object.freeze({ ...loadSettings(devConfigSchema, devSettingSources, env), otelEnv });
}
