/** Settings of the runner process. The seed's environment names are accepted beside PAR_*. */
import { keyPrefixFor } from '../lib/redis-cluster-keys.js';
import { z } from 'zod';
import { CRASH_POINTS } from '../lib/crash-points.js';
import { envBool, envInt, envList, envLogLevel, secret } from './env-helpers.js';
import { loadSettings, type Env } from './env-source.js';

export const runnerSettingSources = {
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

export const runnerConfigSchema = z.object({
  controlPlaneUrl: z.url().default('http://127.0.0.1:7700').describe('URL of the control plane.'),
  apiKey: secret(z.string()).optional().describe('API key to enroll with (`--with-api-key`) when the config dir has no identity.'),
  appKey: secret(z.string()).optional().describe('Application key to enroll with (`--with-api-key`) when the config dir has no identity.'),
  bootstrapKeysFile: z
    .string()
    .optional()
    .describe('When the keys are not set: read them from this file written by a co-located control plane (compose).'),
  runnerName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash, underscore')
    .max(100)
    .optional()
    .describe('Name the runner enrolls with (letters, digits, dot, dash, underscore).'),
  modes: envList(z.enum(['pull']))
    .default(['pull'])
    .describe('How the runner gets tasks; only `pull` (it polls the control plane over outbound connections).'),
  allowlist: envList(z.string())
    .optional()
    .describe(
      "Actions this runner may run (FQNs or globs like `com.datadoghq.http.*`); unset: `actionsAllowlist` of the config dir's config.yaml.",
    ),
  configDir: z.string().default('./config').describe('Directory of config.yaml (the identity), credentials and the audit log.'),
  redisUrl: z
    .url()
    .default('redis://127.0.0.1:6379')
    .describe(
      "Redis holding the runner's queues, shared with its workers; `redis+cluster://host:port` (any one node) means a Redis Cluster.",
    ),
  queuePrefix: z
    .string()
    .min(1)
    .default('par')
    .describe(
      "Prefix of the runner's queues in Redis (the same for its workers); on a cluster it is wrapped in a hash tag (`{par}`) unless it holds one.",
    ),
  adminHost: z.string().default('127.0.0.1').describe("Address of the runner's admin server (health, metrics, /queues)."),
  adminPort: envInt(0, 65535).default(9016).describe("Port of the runner's admin server (0: any free port)."),
  dashboardReadOnly: envBool().default(true).describe('Whether the queue dashboard at /queues only shows (no retry, remove, pause).'),
  capacity: envInt(1, 10_000).default(50).describe('Most tasks the runner holds at once (leased, queued or running).'),
  pollWaitMs: envInt(0, 60_000)
    .default(20_000)
    .describe(
      'How long one poll of the control plane waits for tasks (long poll); never past the next health check, which rides on the poll.',
    ),
  pollBackoffMaxMs: envInt(10, 600_000).default(30_000).describe('Longest pause between failing polls (jittered exponential backoff).'),
  heartbeatIntervalMs: envInt(50, 600_000).default(10_000).describe('How often the runner extends the leases of the tasks it holds.'),
  enrollBackoffMaxMs: envInt(10, 600_000)
    .default(30_000)
    .describe('Longest pause between enrollment attempts that fail on the network or 5xx/429.'),
  publishBackoffMaxMs: envInt(10, 600_000).default(30_000).describe('Longest pause between attempts to publish a result.'),
  maxAttempts: envInt(1, 100)
    .default(3)
    .describe('How many times a task runs on workers when it fails with a retryable error (attempts, not retries).'),
  retryBackoffMs: envInt(0, 600_000).default(1_000).describe('First pause before a task runs again (doubled each attempt).'),
  logLevel: envLogLevel().describe('Log level (pino).'),
  logFile: z.string().optional().describe('Also append the logs (JSON lines) to this file; default: stdout only.'),
  withApiKey: z.boolean().default(false).describe('Enroll with DD_API_KEY + DD_APP_KEY when no identity exists.'),
  enrollmentToken: secret(z.string().min(1))
    .optional()
    .describe('One-time token from `POST /api/v1/runners` (or `--enrollment-token`): enroll with it instead of keys.'),
  runnerIdentity: secret(z.string().min(1))
    .optional()
    .describe('base64 of a config.yaml (as `--enroll -f env` prints it): the identity when the config dir has none.'),
  healthIntervalMs: envInt(100, 600_000)
    .default(5_000)
    .describe(
      'How often the runner reports its health to the control plane (carried on the poll while it polls, so also the longest a poll waits).',
    ),
  printFormat: z
    .enum(['k8s', 'compose', 'env'])
    .optional()
    .describe(
      'With `--enroll`: enroll, print the config in this format (`k8s`: a Secret + kustomization overlay written to --output-dir; `compose`, `env`: to stdout), and exit (no config.yaml).',
    ),
  runnerImage: z
    .string()
    .min(1)
    .default('private-action-runner:local')
    .describe('Container image named in the compose and Kubernetes configs that `--enroll -f` writes.'),
  keysRefreshMs: envInt(100, 86_400_000)
    .default(60_000)
    .describe("How often the runner fetches the control plane's signing keys (it also fetches on an unknown kid)."),
  drainMs: envInt(0, 600_000)
    .default(20_000)
    .describe('SIGTERM: how long the runner keeps heartbeating and publishing for tasks already running before it stops.'),
  probeIntervalMs: envInt(50, 1_000)
    .default(500)
    .describe(
      "While polls or publishes fail: how often the runner probes the control plane's /healthz, so it resumes within this of its return.",
    ),
  resultsLockMs: envInt(500, 600_000)
    .default(10_000)
    .describe('Lock of a result job being published; a runner killed mid-publish has it published again within about 1.5 x this.'),
  testCrashAt: z.enum(CRASH_POINTS).optional().describe('FOR TESTS ONLY: exit with 137 at this crash point (src/lib/crash-points.ts).'),
  auditDir: z.string().min(1).optional().describe("The audit log's directory; default `<config dir>/audit`."),
  auditCheckpointEvery: envInt(1, 1_000_000).default(100).describe('Write a signed audit checkpoint after at most this many entries.'),
  auditCheckpointIntervalMs: envInt(1_000, 86_400_000)
    .default(60_000)
    .describe('Write a signed audit checkpoint at least this often while entries arrive.'),
  auditMaxFileBytes: envInt(4_096, 1_073_741_824)
    .default(16_777_216)
    .describe('Rotate the audit log to a new file once the current one reaches this size.'),
});
export type RunnerConfig = Readonly<z.infer<typeof runnerConfigSchema>>;

/** Settings set by command-line flags only, named so in errors. */
export const RUNNER_FLAGS = { withApiKey: '--with-api-key', printFormat: '-f' } as const;

export function loadRunnerConfig(
  env: Env,
  overrides: Partial<Record<keyof typeof runnerSettingSources | keyof typeof RUNNER_FLAGS, unknown>> = {},
): RunnerConfig {
  const c = loadSettings(runnerConfigSchema, runnerSettingSources, env, overrides, RUNNER_FLAGS);
  return Object.freeze({ ...c, queuePrefix: keyPrefixFor(c.redisUrl, c.queuePrefix) });
}
