/** Settings of the control-plane process. */
import { keyPrefixFor } from '../lib/redis-cluster-keys.js';
import { z } from 'zod';
import { envInt, envLogLevel, secret } from './env-helpers.js';
import { loadSettings, type Env } from './env-source.js';

export const controlPlaneSettingSources = {
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

export const controlPlaneConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1').describe('Address the control plane listens on.'),
    port: envInt(0, 65535).default(7700).describe("Port of the control plane's HTTP API and web page (0: any free port)."),
    redisUrl: z
      .url()
      .default('redis://127.0.0.1:6379')
      .describe(
        "Redis holding the control plane's tasks, runners and keys; `redis+cluster://host:port` (any one node) means a Redis Cluster.",
      ),
    keyPrefix: z
      .string()
      .min(1)
      .default('par:cp')
      .describe(
        'Prefix of every Redis key the control plane writes; on a cluster it is wrapped in a hash tag (`{par:cp}`) unless it holds one.',
      ),
    publicUrl: z
      .url()
      .optional()
      .describe('URL runners reach the control plane at, named in install snippets; default: the URL of the request.'),
    adminApiKey: secret(z.string().min(16, 'must be at least 16 characters'))
      .optional()
      .describe('Admin API key (16+ characters); unset and none stored yet: generated at start and printed once.'),
    adminAppKey: secret(z.string().min(16, 'must be at least 16 characters'))
      .optional()
      .describe('Admin application key (16+ characters); unset and none stored yet: generated at start and printed once.'),
    bootstrapKeysFile: z
      .string()
      .optional()
      .describe('Where to write the admin keys (mode 0600) for a co-located runner to enroll with (compose).'),
    taskTtlMs: envInt(1, 86_400_000).default(600_000).describe('How long a task may wait for a runner before it expires.'),
    leaseMs: envInt(100, 3_600_000)
      .default(30_000)
      .describe(
        'How long a pulled task stays leased to its runner; a lease its heartbeats do not extend lapses and the task is handed out again.',
      ),
    maxDeliveries: envInt(1, 100).default(3).describe('How many times a task is handed to a runner (leases that lapse) before it fails.'),
    leaseSweepIntervalMs: envInt(10, 60_000).default(1_000).describe('How often lapsed leases are looked for.'),
    enrollmentTokenTtlMs: envInt(1_000, 30 * 86_400_000)
      .default(3_600_000)
      .describe('How long an enrollment token created with a runner stays usable (it is one-time anyway).'),
    runnerOfflineAfterMs: envInt(100, 86_400_000)
      .default(30_000)
      .describe('A runner whose last health check is older than this is `offline`.'),
    runnerImage: z.string().min(1).default('private-action-runner:local').describe('Container image named in the install snippets.'),
    idempotencyWindowMs: envInt(1_000, 30 * 86_400_000)
      .default(86_400_000)
      .describe('How long an Idempotency-Key of POST /api/v1/tasks keeps answering with its task (default 24 h).'),
    logLevel: envLogLevel().describe('Log level (pino).'),
    logFile: z.string().optional().describe('Also append the logs (JSON lines) to this file; default: stdout only.'),
    signingKeyRotateIntervalMs: envInt(0, 366 * 86_400_000)
      .default(0)
      .describe('Rotate the task-signing key when the active one is this old (0: only by `par control-plane rotate-signing-key`).'),
    signingKeyRetireAfterMs: envInt(1, 30 * 86_400_000)
      .optional()
      .describe(
        'How long tasks signed with a replaced key stay valid, at least PAR_TASK_TTL_MS; default: task TTL + lease x max deliveries + 2 reloads.',
      ),
    signingKeyReloadMs: envInt(50, 600_000)
      .default(5_000)
      .describe('How often each process re-reads the signing key (besides the pub/sub notice a rotation sends).'),
    runnerKeyOverlapMs: envInt(0, 86_400_000)
      .default(300_000)
      .describe('After a runner rotates its identity, how long its previous key is still accepted.'),
  })
  .superRefine((c, ctx) => {
    if (c.signingKeyRetireAfterMs !== undefined && c.signingKeyRetireAfterMs < c.taskTtlMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['signingKeyRetireAfterMs'],
        message: `must be at least PAR_TASK_TTL_MS (${c.taskTtlMs}): tasks signed just before a rotation must stay valid until they expire`,
      });
    }
    if (c.signingKeyRotateIntervalMs > 0 && c.signingKeyRotateIntervalMs < 1_000) {
      ctx.addIssue({ code: 'custom', path: ['signingKeyRotateIntervalMs'], message: 'must be 0 (off) or at least 1000' });
    }
  });
export type ControlPlaneConfig = Readonly<z.infer<typeof controlPlaneConfigSchema>>;

export function loadControlPlaneConfig(
  env: Env,
  overrides: Partial<Record<keyof typeof controlPlaneSettingSources, unknown>> = {},
): ControlPlaneConfig {
  const c = loadSettings(controlPlaneConfigSchema, controlPlaneSettingSources, env, overrides);
  return Object.freeze({ ...c, keyPrefix: keyPrefixFor(c.redisUrl, c.keyPrefix) });
}

/** How long a replaced signing key's tasks stay valid: set, or task TTL + every lease a delivery may hold + propagation. */
export function signingKeyRetireAfterMs(c: ControlPlaneConfig): number {
  return c.signingKeyRetireAfterMs ?? c.taskTtlMs + c.leaseMs * c.maxDeliveries + 2 * c.signingKeyReloadMs;
}
