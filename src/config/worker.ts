/** Settings of a worker process. */
import { z } from 'zod';
import { CRASH_POINTS } from '../runner/crash-points.js';
import { collect, parseSettings, splitGlobList, splitList, type Env } from './env-source.js';

const sources = {
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
  // production shape: liveness file for `par healthcheck worker` (issue 11)
  livenessFile: ['PAR_WORKER_LIVENESS_FILE'],
  livenessIntervalMs: ['PAR_WORKER_LIVENESS_INTERVAL_MS'],
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes')]);

export const workerConfigSchema = z.object({
  configDir: z.string().default('./config'),
  allowlist: z.array(z.string()).optional(),
  redisUrl: z.string().url().default('redis://127.0.0.1:6379'),
  queuePrefix: z.string().min(1).default('par'),
  concurrency: int(1, 1000).default(10),
  /**
   * A job's lock; a worker that dies loses its jobs when the lock lapses. A lost task runs again
   * within lockMs + stalledIntervalMs <= 2 x lockMs (20 s with the defaults).
   */
  lockMs: int(500, 600_000).default(10_000),
  /** How often workers look for jobs whose lock lapsed; at most lockMs (checked at start). Default: min(5 s, lockMs / 2). */
  stalledIntervalMs: int(250, 600_000).optional(),
  maxAttempts: int(1, 100).default(3),
  retryBackoffMs: int(0, 600_000).default(1_000),
  httpMaxResponseBytes: int(1, 1_073_741_824).default(10 * 1024 * 1024),
  /** Hard cap on the rows one com.datadoghq.postgresql task returns, whatever its maxRows input says. */
  postgresMaxRows: int(1, 1_000_000).default(10_000),
  /** Hosts http actions may reach: names, IP literals, globs (`*.corp.internal`, `db-[0-9].{eu,us}.corp`); empty = all. */
  httpHostAllowlist: z.array(z.string().min(1)).default([]),
  /** Let http actions reach link-local and cloud metadata ranges (169.254.0.0/16, fe80::/10, fd00:ec2::/32, ...). */
  httpAllowMetadataAddresses: bool.default(false),
  /** Refuse loopback targets too (127.0.0.0/8, ::1 and their IPv6-wrapped forms); off: loopback services are reachable. */
  httpDenyLoopback: bool.default(false),
  /** PEM file of extra CAs trusted by http actions, read once at start; relative to the config dir. */
  httpCaBundleFile: z.string().min(1).optional(),
  /** The script config (script-credentials-v1 YAML); relative paths are inside the config dir. */
  scriptConfigFile: z.string().min(1).default('script-config.yaml'),
  /** Cap on a script's stdout + stderr together; the script is killed when it writes more. */
  scriptMaxOutputBytes: int(1, 1_073_741_824).default(10 * 1024 * 1024),
  /**
   * Where scripts run: `bwrap` (bubblewrap box, start-up fails if it cannot be built), `none`, or
   * `auto` (bwrap when it works here, else none with a warning). See src/actions/script/sandbox.ts.
   */
  scriptSandbox: z.enum(['auto', 'bwrap', 'none']).default('auto'),
  /** Run scripts as this user (name, uid or uid:gid; not root); the worker must run as root. */
  scriptUser: z.string().min(1).optional(),
  /** Extra host paths (absolute) shown read-only inside the script sandbox, e.g. /opt/scripts. */
  scriptSandboxBind: z.array(z.string().min(1).startsWith('/', 'must be absolute paths')).default([]),
  /** `host`: scripts share the worker's network; `none`: only the box's own loopback (needs bwrap). */
  scriptSandboxNetwork: z.enum(['host', 'none']).default('host'),
  /** How long to wait for the runner to enroll and write its identity before giving up (0: forever). */
  identityWaitMs: int(0, 86_400_000).default(0),
  /** base64 of the runner's config.yaml (`par runner --enroll -f env`): used when the config dir has none. */
  runnerIdentity: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  logFile: z.string().optional(),
  /**
   * SIGTERM: how long running tasks may take to finish before they are aborted and handed back
   * to the queue (they run again on another worker). The worker exits within about this + 3 s,
   * below Kubernetes' default 30 s kill timeout.
   */
  graceMs: int(0, 3_600_000).default(25_000),
  /** FOR TESTS ONLY: exit with 137 at this crash point (src/runner/crash-points.ts). */
  testCrashAt: z.enum(CRASH_POINTS).optional(),
  livenessFile: z.string().min(1).optional()
    .describe('File the worker touches every PAR_WORKER_LIVENESS_INTERVAL_MS while its queue consumer runs and Redis answers (read by `par healthcheck worker`); unset: none.'),
  livenessIntervalMs: int(500, 300_000).default(5_000)
    .describe('How often a healthy worker touches PAR_WORKER_LIVENESS_FILE; `par healthcheck worker` fails when the file is older than 3 intervals.'),
}).transform((c) => ({ ...c, stalledIntervalMs: c.stalledIntervalMs ?? Math.min(5_000, Math.floor(c.lockMs / 2)) }))
  .refine((c) => c.stalledIntervalMs <= c.lockMs, {
  path: ['stalledIntervalMs'],
  message: 'must not exceed PAR_WORKER_LOCK_MS (a lost task must run again within 2 x the lock)',
});
export type WorkerConfig = Readonly<z.infer<typeof workerConfigSchema>>;

export function loadWorkerConfig(env: Env, overrides: Partial<Record<keyof typeof sources, unknown>> = {}): WorkerConfig {
  const { raw, from } = collect(env, sources);
  const shaped: Record<string, unknown> = { ...raw };
  if (raw.allowlist !== undefined) shaped['allowlist'] = splitList(raw.allowlist);
  if (raw.httpHostAllowlist !== undefined) shaped['httpHostAllowlist'] = splitGlobList(raw.httpHostAllowlist);
  if (raw.scriptSandboxBind !== undefined) shaped['scriptSandboxBind'] = splitList(raw.scriptSandboxBind);
  return parseSettings(workerConfigSchema, { ...shaped, ...overrides }, sources, from);
}
