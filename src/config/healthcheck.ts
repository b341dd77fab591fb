/**
 * Settings of `par healthcheck <role>`: it reads the same variables as the process it checks
 * (ports, admin host, liveness file), so a container's HEALTHCHECK needs no extra configuration.
 */
import { z } from 'zod';
import { envInt } from './env-helpers.js';
import { loadSettings, type Env } from './env-source.js';

export const healthcheckSettingSources = {
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

export const healthcheckConfigSchema = z.object({
  role: z
    .enum(HEALTHCHECK_ROLES)
    .optional()
    .describe("Role `par healthcheck` checks when none is given on its command line (else it is read from the container's main command)."),
  controlPlanePort: envInt(1, 65535)
    .default(7700)
    .describe("Port of the control plane whose /healthz `par healthcheck control-plane` asks (the control plane's own setting)."),
  runnerAdminHost: z
    .string()
    .default('127.0.0.1')
    .describe("Address of the runner admin server `par healthcheck runner` asks (the runner's own setting)."),
  runnerAdminPort: envInt(1, 65535)
    .default(9016)
    .describe("Port of the runner admin server `par healthcheck runner` asks (the runner's own setting)."),
  livenessFile: z
    .string()
    .min(1)
    .optional()
    .describe("The worker's liveness file `par healthcheck worker` reads (the worker's own setting)."),
  livenessIntervalMs: envInt(500, 300_000)
    .default(5_000)
    .describe("The worker's liveness interval: the file is stale after 3 of them (the worker's own setting)."),
  timeoutMs: envInt(100, 60_000)
    .default(3_000)
    .describe('How long `par healthcheck` waits for an HTTP answer before reporting the process unhealthy.'),
});
export type HealthcheckConfig = Readonly<z.infer<typeof healthcheckConfigSchema>>;

export function loadHealthcheckConfig(env: Env): HealthcheckConfig {
  return loadSettings(healthcheckConfigSchema, healthcheckSettingSources, env);
}
