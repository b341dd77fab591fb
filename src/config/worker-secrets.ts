/**
 * Environment variables a worker must not hold or pass on. A worker needs no API or application
 * key (it never talks to the control plane), no enrollment token, and once its settings are read
 * no Redis URL or identity in its environment either. Deployments should not give it any of these
 * (docker-compose.yaml, `par dev` and the install snippets do not); the worker entry point still
 * removes them from its own `process.env` at start (defence in depth), so nothing it spawns and
 * no script's `allowedEnvVars` can reach them.
 *
 * What this cannot undo: the kernel's copy of the initial environment (`/proc/<pid>/environ`)
 * keeps what the process was started with; the script sandbox is what keeps scripts from it.
 *
 * The names come from the settings' sources, so a name added to a setting is covered here too.
 */
import { controlPlaneSettingSources } from './control-plane.js';
import { runnerSettingSources } from './runner.js';
import { workerSettingSources } from './worker.js';

/** Names never passed to a worker; removed from its environment at start if present anyway. */
export const WORKER_FORBIDDEN_ENV = [
  ...runnerSettingSources.apiKey,
  ...runnerSettingSources.appKey,
  ...controlPlaneSettingSources.adminApiKey,
  ...controlPlaneSettingSources.adminAppKey,
  ...runnerSettingSources.enrollmentToken,
] as const;

/** Names the worker reads at start (into its config) and then drops from its environment. */
export const WORKER_CONSUMED_SECRET_ENV = [
  ...workerSettingSources.redisUrl,
  ...workerSettingSources.runnerIdentity,
  // tracing (issue 11): collector credentials, read into the tracing config at start
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
] as const;

const ALL: ReadonlySet<string> = new Set([...WORKER_FORBIDDEN_ENV, ...WORKER_CONSUMED_SECRET_ENV]);

/** Whether `name` is a worker secret that must not reach a script or a child process. */
export function isWorkerSecretEnv(name: string): boolean {
  return ALL.has(name);
}

/**
 * Deletes every worker secret from `env` (the worker's `process.env`, after its config is loaded).
 * Returns the forbidden names that were set, for a warning: they should not have been given.
 */
export function scrubWorkerEnv(env: Record<string, string | undefined>): string[] {
  const forbidden: string[] = [];
  for (const name of ALL) {
    if (env[name] === undefined) continue;
    if ((WORKER_FORBIDDEN_ENV as readonly string[]).includes(name)) forbidden.push(name);
    Reflect.deleteProperty(env, name);
  }
  return forbidden;
}

/** A copy of `env` without the worker secrets: what the script bundle may copy allowedEnvVars from. */
export function withoutWorkerSecrets(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !ALL.has(name)));
}
