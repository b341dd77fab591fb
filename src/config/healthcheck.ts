/**
 * Settings of `par healthcheck <role>`: it reads the same variables as the process it checks
 * (ports, admin host, liveness file), so a container's HEALTHCHECK needs no extra configuration.
 */
import { z } from 'zod';
import { collect, parseSettings, type Env } from './env-source.js';

const sources = {
  role: ['PAR_ROLE'],
  controlPlanePort: ['PAR_CP_PORT', 'PORT'],
  runnerAdminHost: ['PAR_RUNNER_ADMIN_HOST'],
  runnerAdminPort: ['PAR_RUNNER_ADMIN_PORT'],
  livenessFile: ['PAR_WORKER_LIVENESS_FILE'],
  livenessIntervalMs: ['PAR_WORKER_LIVENESS_INTERVAL_MS'],
  timeoutMs: ['PAR_HEALTHCHECK_TIMEOUT_MS'],
} as const;

export const HEALTHCHECK_ROLES = ['control-plane', 'runner', 'worker'] as const;
export type HealthcheckRole = (typeof HEALTHCHECK_ROLES)[number];

const port = z.coerce.number().int().min(1).max(65535);

export const healthcheckConfigSchema = z.object({
  role: z.enum(HEALTHCHECK_ROLES).optional()
    .describe('Role `par healthcheck` checks when none is given on its command line (else it is read from the container\'s main command).'),
  controlPlanePort: port.default(7700),
  runnerAdminHost: z.string().default('127.0.0.1'),
  runnerAdminPort: port.default(9016),
  livenessFile: z.string().min(1).optional(),
  livenessIntervalMs: z.coerce.number().int().min(500).max(300_000).default(5_000),
  timeoutMs: z.coerce.number().int().min(100).max(60_000).default(3_000)
    .describe('How long `par healthcheck` waits for an HTTP answer before reporting the process unhealthy.'),
});
export type HealthcheckConfig = Readonly<z.infer<typeof healthcheckConfigSchema>>;

export function loadHealthcheckConfig(env: Env): HealthcheckConfig {
  const { raw, from } = collect(env, sources);
  return parseSettings(healthcheckConfigSchema, raw, sources, from);
}
