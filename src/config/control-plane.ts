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
  // key rotation (issue 7)
  signingKeyRotateIntervalMs: ['PAR_SIGNING_KEY_ROTATE_INTERVAL_MS'],
  signingKeyRetireAfterMs: ['PAR_SIGNING_KEY_RETIRE_AFTER_MS'],
  signingKeyReloadMs: ['PAR_SIGNING_KEY_RELOAD_MS'],
  runnerKeyOverlapMs: ['PAR_RUNNER_KEY_OVERLAP_MS'],
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
  /** Rotate the task-signing key when the active one is this old (0: only by `par control-plane rotate-signing-key`). */
  signingKeyRotateIntervalMs: int(0, 366 * 86_400_000).default(0),
  /** How long tasks signed with a replaced key stay valid; default: task TTL + lease re-sign window + 2 reloads. */
  signingKeyRetireAfterMs: int(1, 30 * 86_400_000).optional(),
  /** How often each process re-reads the signing key (besides the pub/sub notice a rotation sends). */
  signingKeyReloadMs: int(50, 600_000).default(5_000),
  /** After a runner rotates its identity, how long its previous key is still accepted. */
  runnerKeyOverlapMs: int(0, 86_400_000).default(300_000),
}).superRefine((c, ctx) => {
  if (c.signingKeyRetireAfterMs !== undefined && c.signingKeyRetireAfterMs < c.taskTtlMs) {
    ctx.addIssue({ code: 'custom', path: ['signingKeyRetireAfterMs'], message: `must be at least PAR_TASK_TTL_MS (${c.taskTtlMs}): tasks signed just before a rotation must stay valid until they expire` });
  }
  if (c.signingKeyRotateIntervalMs > 0 && c.signingKeyRotateIntervalMs < 1_000) {
    ctx.addIssue({ code: 'custom', path: ['signingKeyRotateIntervalMs'], message: 'must be 0 (off) or at least 1000' });
  }
});
export type ControlPlaneConfig = Readonly<z.infer<typeof controlPlaneConfigSchema>>;

export function loadControlPlaneConfig(env: Env, overrides: Partial<Record<keyof typeof sources, unknown>> = {}): ControlPlaneConfig {
  const { raw, from } = collect(env, sources);
  return parseSettings(controlPlaneConfigSchema, { ...raw, ...overrides }, sources, from);
}

/** How long a replaced signing key's tasks stay valid: set, or task TTL + every lease a delivery may hold + propagation. */
export function signingKeyRetireAfterMs(c: ControlPlaneConfig): number {
  return c.signingKeyRetireAfterMs ?? c.taskTtlMs + c.leaseMs * c.maxDeliveries + 2 * c.signingKeyReloadMs;
}
