/** Settings of a worker process. */
import { keyPrefixFor } from '../lib/redis-cluster-keys.js';
import { z } from 'zod';
import { CRASH_POINTS } from '../lib/crash-points.js';
import { envBool, envGlobList, envInt, envList, envLogLevel, secret } from './env-helpers.js';
import { loadSettings, type Env } from './env-source.js';

export const workerSettingSources = {
  configDir: ['PAR_CONFIG_DIR', 'DD_PRIVATE_RUNNER_CONFIG_DIR'],
  allowlist: ['PAR_ACTIONS_ALLOWLIST', 'ACTIONS_ALLOWLIST', 'DD_PRIVATE_ACTION_RUNNER_ACTIONS_ALLOWLIST'],
  redisUrl: ['PAR_REDIS_URL', 'REDIS_URL'],
  queuePrefix: ['PAR_QUEUE_PREFIX'],
  concurrency: ['PAR_WORKER_CONCURRENCY'],
  lockMs: ['PAR_WORKER_LOCK_MS'],
  stalledIntervalMs: ['PAR_WORKER_STALLED_INTERVAL_MS'],
  maxAttempts: ['PAR_TASK_MAX_ATTEMPTS'],
  retryBackoffMs: ['PAR_RETRY_BACKOFF_MS'],
  httpMaxResponseBytes: ['PAR_HTTP_MAX_RESPONSE_BYTES'],
  postgresMaxRows: ['PAR_POSTGRES_MAX_ROWS'],
  httpHostAllowlist: ['PAR_HTTP_HOST_ALLOWLIST'],
  httpAllowMetadataAddresses: ['PAR_HTTP_ALLOW_METADATA_ADDRESSES'],
  httpDenyLoopback: ['PAR_HTTP_DENY_LOOPBACK'],
  httpCaBundleFile: ['PAR_HTTP_CA_BUNDLE_FILE'],
  scriptConfigFile: ['PAR_SCRIPT_CONFIG_FILE'],
  scriptMaxOutputBytes: ['PAR_SCRIPT_MAX_OUTPUT_BYTES'],
  scriptSandbox: ['PAR_SCRIPT_SANDBOX'],
  scriptUser: ['PAR_SCRIPT_USER'],
  scriptSandboxBind: ['PAR_SCRIPT_SANDBOX_BIND'],
  scriptSandboxNetwork: ['PAR_SCRIPT_SANDBOX_NETWORK'],
  identityWaitMs: ['PAR_IDENTITY_WAIT_MS'],
  runnerIdentity: ['PAR_RUNNER_IDENTITY'],
  logLevel: ['PAR_LOG_LEVEL', 'LOG_LEVEL'],
  logFile: ['PAR_LOG_FILE'],
  // reliability: bounded drain, crash points (issue 8)
  graceMs: ['PAR_WORKER_GRACE_MS'],
  testCrashAt: ['PAR_TEST_CRASH_AT'],
  // metrics (issue 11)
  metricsPort: ['PAR_WORKER_METRICS_PORT'],
  metricsHost: ['PAR_WORKER_METRICS_HOST'],
  // production shape: liveness file for `par healthcheck worker` (issue 11)
  livenessFile: ['PAR_WORKER_LIVENESS_FILE'],
  livenessIntervalMs: ['PAR_WORKER_LIVENESS_INTERVAL_MS'],
} as const;

export const workerConfigSchema = z
  .object({
    configDir: z.string().default('./config').describe("Directory of config.yaml (the runner's identity), credentials and script config."),
    allowlist: envList(z.string())
      .optional()
      .describe("Actions this worker may run (FQNs or globs); unset: `actionsAllowlist` of the config dir's config.yaml."),
    redisUrl: z
      .url()
      .default('redis://127.0.0.1:6379')
      .describe(
        "Redis holding the runner's queues; removed from the worker's environment once read; `redis+cluster://host:port` (any one node) means a Redis Cluster.",
      ),
    queuePrefix: z
      .string()
      .min(1)
      .default('par')
      .describe(
        "Prefix of the runner's queues in Redis (the same as the runner's); on a cluster it is wrapped in a hash tag (`{par}`) unless it holds one.",
      ),
    concurrency: envInt(1, 1000).default(10).describe('Most tasks one worker process runs at once.'),
    lockMs: envInt(500, 600_000)
      .default(10_000)
      .describe(
        "A job's lock; a worker that dies loses its jobs when the lock lapses, and a lost task runs again within lockMs + stalledIntervalMs.",
      ),
    stalledIntervalMs: envInt(250, 600_000)
      .optional()
      .describe('How often workers look for jobs whose lock lapsed; at most PAR_WORKER_LOCK_MS; default: min(5000, lock / 2).'),
    maxAttempts: envInt(1, 100)
      .default(3)
      .describe('How many times a task runs when it fails with a retryable error (attempts, not retries).'),
    retryBackoffMs: envInt(0, 600_000).default(1_000).describe('First pause before a task runs again (doubled each attempt).'),
    httpMaxResponseBytes: envInt(1, 1_073_741_824)
      .default(10 * 1024 * 1024)
      .describe('Largest response body an HTTP request of an action may read.'),
    postgresMaxRows: envInt(1, 1_000_000)
      .default(10_000)
      .describe('Hard cap on the rows one com.datadoghq.postgresql task returns, whatever its maxRows input says.'),
    httpHostAllowlist: envGlobList(z.string().min(1))
      .default([])
      .describe('Hosts http actions may reach: names, IP literals, globs (`*.corp.internal`, `db-[0-9].{eu,us}.corp`); empty: all.'),
    httpAllowMetadataAddresses: envBool()
      .default(false)
      .describe('Let http actions reach link-local and cloud metadata ranges (169.254.0.0/16, fe80::/10, fd00:ec2::/32, ...).'),
    httpDenyLoopback: envBool()
      .default(false)
      .describe('Refuse loopback targets too (127.0.0.0/8, ::1 and their IPv6-wrapped forms); off: loopback services are reachable.'),
    httpCaBundleFile: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of extra CAs trusted by http actions, read once at start; relative to the config dir.'),
    scriptConfigFile: z
      .string()
      .min(1)
      .default('script-config.yaml')
      .describe('The script config (script-credentials-v1 YAML); relative paths are inside the config dir.'),
    scriptMaxOutputBytes: envInt(1, 1_073_741_824)
      .default(10 * 1024 * 1024)
      .describe("Cap on a script's stdout + stderr together; the script is killed when it writes more."),
    scriptSandbox: z
      .enum(['auto', 'bwrap', 'none'])
      .default('auto')
      .describe(
        'Where scripts run: `bwrap` (bubblewrap box, start-up fails if it cannot be built), `none`, or `auto` (bwrap when it works here, else none with a warning).',
      ),
    scriptUser: z
      .string()
      .min(1)
      .optional()
      .describe('Run scripts as this user (name, uid or uid:gid; not root); the worker must run as root.'),
    scriptSandboxBind: envList(z.string().min(1).startsWith('/', 'must be absolute paths'))
      .default([])
      .describe('Extra host paths (absolute) shown read-only inside the script sandbox, e.g. /opt/scripts.'),
    scriptSandboxNetwork: z
      .enum(['host', 'none'])
      .default('host')
      .describe("`host`: scripts share the worker's network; `none`: only the box's own loopback (needs bwrap)."),
    identityWaitMs: envInt(0, 86_400_000)
      .default(0)
      .describe('How long to wait for the runner to enroll and write its identity before giving up (0: forever).'),
    runnerIdentity: secret(z.string().min(1))
      .optional()
      .describe("base64 of the runner's config.yaml (`par runner --enroll -f env`): used when the config dir has none."),
    logLevel: envLogLevel().describe('Log level (pino).'),
    logFile: z.string().optional().describe('Also append the logs (JSON lines) to this file; default: stdout only.'),
    graceMs: envInt(0, 3_600_000)
      .default(25_000)
      .describe(
        'SIGTERM: how long running tasks may take to finish before they are aborted and handed back to the queue; the worker exits within about this + 3 s.',
      ),
    testCrashAt: z.enum(CRASH_POINTS).optional().describe('FOR TESTS ONLY: exit with 137 at this crash point (src/lib/crash-points.ts).'),
    metricsPort: envInt(0, 65535).default(0).describe("Port of the worker's Prometheus /metrics server; 0 (the default) serves none."),
    metricsHost: z.string().min(1).default('127.0.0.1').describe("Address the worker's /metrics server binds (PAR_WORKER_METRICS_PORT)."),
    livenessFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File the worker touches every PAR_WORKER_LIVENESS_INTERVAL_MS while its queue consumer runs and Redis answers (read by `par healthcheck worker`); unset: none.',
      ),
    livenessIntervalMs: envInt(500, 300_000)
      .default(5_000)
      .describe(
        'How often a healthy worker touches PAR_WORKER_LIVENESS_FILE; `par healthcheck worker` fails when the file is older than 3 intervals.',
      ),
  })
  .transform((c) => ({ ...c, stalledIntervalMs: c.stalledIntervalMs ?? Math.min(5_000, Math.floor(c.lockMs / 2)) }))
  .refine((c) => c.stalledIntervalMs <= c.lockMs, {
    path: ['stalledIntervalMs'],
    error: 'must not exceed PAR_WORKER_LOCK_MS (a lost task must run again within 2 x the lock)',
  });
export type WorkerConfig = Readonly<z.infer<typeof workerConfigSchema>>;

export function loadWorkerConfig(env: Env, overrides: Partial<Record<keyof typeof workerSettingSources, unknown>> = {}): WorkerConfig {
  const c = loadSettings(workerConfigSchema, workerSettingSources, env, overrides);
  return Object.freeze({ ...c, queuePrefix: keyPrefixFor(c.redisUrl, c.queuePrefix) });
}
