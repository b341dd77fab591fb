/** Settings of the control-plane process. */
import { z } from 'zod';
import { collect, parseSettings, type Env } from './env-source.js';

const sources = {
  host: ['PAR_CP_HOST'],
  port: ['PAR_CP_PORT', 'PORT'],
  redisUrl: ['PAR_CP_REDIS_URL', 'REDIS_URL'],
  keyPrefix: ['PAR_CP_KEY_PREFIX'],
  publicUrl: ['PAR_CP_PUBLIC_URL'],
  adminApiKey: ['PAR_ADMIN_API_KEY'],
  adminAppKey: ['PAR_ADMIN_APP_KEY'],
  bootstrapKeysFile: ['PAR_BOOTSTRAP_KEYS_FILE'],
  taskTtlMs: ['PAR_TASK_TTL_MS'],
  leaseMs: ['PAR_LEASE_MS'],
  maxDeliveries: ['PAR_MAX_DELIVERIES'],
  leaseSweepIntervalMs: ['PAR_LEASE_SWEEP_INTERVAL_MS'],
  // enrollment tokens, install snippets and runner health (issue 4, B)
  enrollmentTokenTtlMs: ['PAR_ENROLLMENT_TOKEN_TTL_MS'],
  runnerOfflineAfterMs: ['PAR_RUNNER_OFFLINE_AFTER_MS'],
  runnerImage: ['PAR_RUNNER_IMAGE'],
  // idempotent task submission (issue 8)
  idempotencyWindowMs: ['PAR_IDEMPOTENCY_WINDOW_MS'],
  logLevel: ['PAR_LOG_LEVEL', 'LOG_LEVEL'],
  logFile: ['PAR_LOG_FILE'],
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const controlPlaneConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: int(0, 65535).default(7700),
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  keyPrefix: z.string().min(1).default('par:cp'),
  publicUrl: z.string().url().optional(),
  adminApiKey: z.string().min(16, 'must be at least 16 characters').optional(),
  adminAppKey: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Where to write the admin keys (mode 0600) for a co-located runner to enroll with (compose). */
  bootstrapKeysFile: z.string().optional(),
  taskTtlMs: int(1, 86_400_000).default(600_000),
  leaseMs: int(100, 3_600_000).default(30_000),
  maxDeliveries: int(1, 100).default(3),
  leaseSweepIntervalMs: int(10, 60_000).default(1_000),
  /** How long an enrollment token created with a runner stays usable (it is one-time anyway). */
  enrollmentTokenTtlMs: int(1_000, 30 * 86_400_000).default(3_600_000),
  /** A runner whose last health check is older than this is `offline`. */
  runnerOfflineAfterMs: int(100, 86_400_000).default(30_000),
  /** Container image named in the install snippets. */
  runnerImage: z.string().min(1).default('private-action-runner:local'),
  /** How long an Idempotency-Key of POST /api/v1/tasks keeps answering with its task (default 24 h). */
  idempotencyWindowMs: int(1_000, 30 * 86_400_000).default(86_400_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFile: z.string().optional(),
});
export type ControlPlaneConfig = Readonly<z.infer<typeof controlPlaneConfigSchema>>;

export function loadControlPlaneConfig(env: Env, overrides: Partial<Record<keyof typeof sources, unknown>> = {}): ControlPlaneConfig {
  const { raw, from } = collect(env, sources);
  return parseSettings(controlPlaneConfigSchema, { ...raw, ...overrides }, sources, from);
}
