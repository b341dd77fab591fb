/** Settings of the runner process. The seed's environment names are accepted beside PAR_*. */
import { z } from 'zod';
import { CRASH_POINTS } from '../runner/crash-points.js';
import { collect, parseSettings, splitList, type Env } from './env-source.js';

const sources = {
  controlPlaneUrl: ['PAR_CONTROL_PLANE_URL', 'DD_BASE_URL'],
  apiKey: ['PAR_API_KEY', 'DD_API_KEY'],
  appKey: ['PAR_APP_KEY', 'DD_APP_KEY'],
  bootstrapKeysFile: ['PAR_BOOTSTRAP_KEYS_FILE'],
  runnerName: ['PAR_RUNNER_NAME', 'RUNNER_NAME'],
  modes: ['PAR_RUNNER_MODES', 'RUNNER_MODES'],
  allowlist: ['PAR_ACTIONS_ALLOWLIST', 'ACTIONS_ALLOWLIST', 'DD_PRIVATE_ACTION_RUNNER_ACTIONS_ALLOWLIST'],
  configDir: ['PAR_CONFIG_DIR', 'DD_PRIVATE_RUNNER_CONFIG_DIR'],
  redisUrl: ['PAR_REDIS_URL', 'REDIS_URL'],
  queuePrefix: ['PAR_QUEUE_PREFIX'],
  adminHost: ['PAR_RUNNER_ADMIN_HOST'],
  adminPort: ['PAR_RUNNER_ADMIN_PORT'],
  dashboardReadOnly: ['PAR_DASHBOARD_READ_ONLY'],
  capacity: ['PAR_RUNNER_CAPACITY'],
  pollWaitMs: ['PAR_POLL_WAIT_MS'],
  pollBackoffMaxMs: ['PAR_POLL_BACKOFF_MAX_MS'],
  heartbeatIntervalMs: ['PAR_HEARTBEAT_INTERVAL_MS'],
  enrollBackoffMaxMs: ['PAR_ENROLL_BACKOFF_MAX_MS'],
  publishBackoffMaxMs: ['PAR_PUBLISH_BACKOFF_MAX_MS'],
  // Same names as the worker's: the runner sets the retry policy on each `tasks` job it adds.
  maxAttempts: ['PAR_TASK_MAX_ATTEMPTS'],
  retryBackoffMs: ['PAR_RETRY_BACKOFF_MS'],
  logLevel: ['PAR_LOG_LEVEL', 'LOG_LEVEL'],
  logFile: ['PAR_LOG_FILE'],
  // enrollment tokens, printed configs and health checks (issue 4, B)
  enrollmentToken: ['PAR_ENROLLMENT_TOKEN', 'DD_PRIVATE_RUNNER_ENROLLMENT_TOKEN'],
  runnerIdentity: ['PAR_RUNNER_IDENTITY'],
  healthIntervalMs: ['PAR_HEALTH_INTERVAL_MS'],
  runnerImage: ['PAR_RUNNER_IMAGE'],
  // key rotation (issue 7)
  keysRefreshMs: ['PAR_RUNNER_KEYS_REFRESH_MS'],
  // reliability: drain, recovery, crash points (issue 8)
  drainMs: ['PAR_RUNNER_DRAIN_MS'],
  probeIntervalMs: ['PAR_CP_PROBE_INTERVAL_MS'],
  resultsLockMs: ['PAR_RUNNER_RESULTS_LOCK_MS'],
  testCrashAt: ['PAR_TEST_CRASH_AT'],
  // the audit trail (issue 13; src/runner/audit/)
  auditDir: ['PAR_AUDIT_DIR'],
  auditCheckpointEvery: ['PAR_AUDIT_CHECKPOINT_EVERY'],
  auditCheckpointIntervalMs: ['PAR_AUDIT_CHECKPOINT_INTERVAL_MS'],
  auditMaxFileBytes: ['PAR_AUDIT_MAX_FILE_BYTES'],
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

export const runnerConfigSchema = z.object({
  controlPlaneUrl: z.string().url().default('http://127.0.0.1:7700'),
  apiKey: z.string().optional(),
  appKey: z.string().optional(),
  /** When the keys are not set: read them from this file written by a co-located control plane (compose). */
  bootstrapKeysFile: z.string().optional(),
  runnerName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore').max(100).optional(),
  modes: z.array(z.enum(['pull'])).default(['pull']),
  /** Undefined: not set in the environment (the config dir's config.yaml may hold it). */
  allowlist: z.array(z.string()).optional(),
  configDir: z.string().default('./config'),
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  queuePrefix: z.string().min(1).default('par'),
  adminHost: z.string().default('127.0.0.1'),
  adminPort: int(0, 65535).default(9016),
  dashboardReadOnly: bool.default(true),
  capacity: int(1, 10_000).default(50),
  pollWaitMs: int(0, 60_000).default(20_000),
  pollBackoffMaxMs: int(10, 600_000).default(30_000),
  heartbeatIntervalMs: int(50, 600_000).default(10_000),
  enrollBackoffMaxMs: int(10, 600_000).default(30_000),
  publishBackoffMaxMs: int(10, 600_000).default(30_000),
  maxAttempts: int(1, 100).default(3),
  retryBackoffMs: int(0, 600_000).default(1_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFile: z.string().optional(),
  /** `--with-api-key`: enroll with DD_API_KEY + DD_APP_KEY when no identity exists. */
  withApiKey: z.boolean().default(false),
  /** One-time token from `POST /api/v1/runners` (`--enrollment-token` or env): enroll with it instead of keys. */
  enrollmentToken: z.string().min(1).optional(),
  /** base64 of a config.yaml (as `--enroll -f env` prints it): the identity when the config dir has none. */
  runnerIdentity: z.string().min(1).optional(),
  /** How often the runner reports its health to the control plane. */
  healthIntervalMs: int(100, 600_000).default(5_000),
  /** `--enroll -f <format>`: enroll, print the config to stdout in this format, and exit (no config.yaml). */
  printFormat: z.enum(['k8s', 'compose', 'env']).optional(),
  /** Container image named in the compose and Helm configs that `--enroll -f` prints. */
  runnerImage: z.string().min(1).default('private-action-runner:local'),
  /** How often the runner fetches the control plane's signing keys (it also fetches on an unknown kid). */
  keysRefreshMs: int(100, 86_400_000).default(60_000),
  /** SIGTERM: how long the runner keeps heartbeating and publishing for tasks already running before it stops. */
  drainMs: int(0, 600_000).default(20_000),
  /** While polls or publishes fail: how often the runner probes the control plane's /healthz, so it resumes within this of its return. */
  probeIntervalMs: int(50, 1_000).default(500),
  /** Lock of a result job being published; a runner killed mid-publish has it published again within about 1.5 x this. */
  resultsLockMs: int(500, 600_000).default(10_000),
  /** FOR TESTS ONLY: exit with 137 at this crash point (src/runner/crash-points.ts). */
  testCrashAt: z.enum(CRASH_POINTS).optional(),
  /** The audit log's directory; default `<configDir>/audit`. */
  auditDir: z.string().min(1).optional(),
  /** A signed checkpoint after at most this many entries... */
  auditCheckpointEvery: int(1, 1_000_000).default(100),
  /** ...and at least this often while entries arrive. */
  auditCheckpointIntervalMs: int(1_000, 86_400_000).default(60_000),
  /** Rotate to a new file once the current one reaches this size. */
  auditMaxFileBytes: int(4_096, 1_073_741_824).default(16_777_216),
});
export type RunnerConfig = Readonly<z.infer<typeof runnerConfigSchema>>;

export function loadRunnerConfig(env: Env, overrides: Partial<Record<keyof typeof sources | 'withApiKey' | 'printFormat', unknown>> = {}): RunnerConfig {
  const { raw, from } = collect(env, sources);
  const shaped: Record<string, unknown> = { ...raw };
  if (raw.allowlist !== undefined) shaped['allowlist'] = splitList(raw.allowlist);
  if (raw.modes !== undefined) shaped['modes'] = splitList(raw.modes);
  return parseSettings(runnerConfigSchema, { ...shaped, ...overrides }, { ...sources, withApiKey: ['--with-api-key'], printFormat: ['-f'] } as Record<keyof typeof sources | 'withApiKey' | 'printFormat', readonly string[]>, from);
}
