/**
 * `par healthcheck [role]`: exits 0 when the process of that role in this container (or pod) is
 * healthy, 1 otherwise with one line saying why. Used by the image's HEALTHCHECK, compose and the
 * Kubernetes probes, so all three check the same thing:
 *   control-plane  GET /healthz on 127.0.0.1:PAR_CP_PORT
 *   runner         GET /readyz on the admin port (`--liveness`: /healthz, the process answers)
 *   worker         PAR_WORKER_LIVENESS_FILE touched within 3 x PAR_WORKER_LIVENESS_INTERVAL_MS
 * Without a role it uses PAR_ROLE, else the role on the container's main command line (/proc/1).
 */
import { readFile, stat } from 'node:fs/promises';
import { get } from 'node:http';
import type { Command } from 'commander';
import { HEALTHCHECK_ROLES, loadHealthcheckConfig, type HealthcheckConfig, type HealthcheckRole } from '../config/healthcheck.js';
import { LIVENESS_STALE_INTERVALS } from '../../workers/liveness.js';

export interface HealthResult {
  ok: boolean;
  detail: string;
}

/** GET with node:http (no undici: a probe runs every few seconds, so its start-up cost counts). */
export function checkHttp(url: string, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const req = get(url, { signal: AbortSignal.timeout(timeoutMs), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 300) body += chunk;
      });
      res.on('end', () =>
        resolve(
          res.statusCode === 200
            ? { ok: true, detail: `${url}: 200` }
            : { ok: false, detail: `${url}: HTTP ${res.statusCode} ${body.slice(0, 300)}` },
        ),
      );
      res.on('error', (error) => resolve({ ok: false, detail: `${url}: ${error.message}` }));
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, detail: `${url}: ${error.code ?? ''} ${error.message}`.trim() }),
    );
  });
}

export async function checkLivenessFile(path: string | undefined, maxAgeMs: number, now: number = Date.now()): Promise<HealthResult> {
  if (!path) return { ok: false, detail: 'PAR_WORKER_LIVENESS_FILE is not set: the worker writes no liveness file to check' };
  try {
    const age = now - (await stat(path)).mtimeMs;
    if (age > maxAgeMs)
      return {
        ok: false,
        detail: `${path} is ${Math.round(age)} ms old (limit ${maxAgeMs} ms): the worker stopped reporting itself healthy`,
      };
    return { ok: true, detail: `${path} touched ${Math.max(0, Math.round(age))} ms ago` };
  } catch (error) {
    return {
      ok: false,
      detail: `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)} (the worker is not running or not healthy yet)`,
    };
  }
}

function loopback(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function runHealthcheck(
  role: HealthcheckRole,
  config: HealthcheckConfig,
  options: { liveness?: boolean } = {},
): Promise<HealthResult> {
  switch (role) {
    case 'control-plane':
      return checkHttp(`http://127.0.0.1:${config.controlPlanePort}/healthz`, config.timeoutMs);
    case 'runner':
      return checkHttp(
        `http://${loopback(config.runnerAdminHost)}:${config.runnerAdminPort}/${options.liveness ? 'healthz' : 'readyz'}`,
        config.timeoutMs,
      );
    case 'worker':
      return checkLivenessFile(config.livenessFile, LIVENESS_STALE_INTERVALS * config.livenessIntervalMs);
  }
}

/** The role on the container's main command line (`par.js worker`, under tini or not). */
async function roleOfMainProcess(): Promise<HealthcheckRole | undefined> {
  try {
    const argv = (await readFile('/proc/1/cmdline', 'utf8')).split('\0');
    return argv.find((a): a is HealthcheckRole => (HEALTHCHECK_ROLES as readonly string[]).includes(a));
  } catch {
    return undefined;
  }
}

/** The command's whole work: prints one line and exits 0 (healthy) or 1. */
export async function healthcheckCommand(
  roleArg: string | undefined,
  opts: { liveness?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<never> {
  let config: HealthcheckConfig;
  try {
    config = loadHealthcheckConfig(env);
  } catch (error) {
    process.stderr.write(`par healthcheck: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const role = roleArg ?? config.role ?? (await roleOfMainProcess());
  if (!role || !(HEALTHCHECK_ROLES as readonly string[]).includes(role)) {
    process.stderr.write(
      `par healthcheck: ${role ? `unknown role "${role}"` : 'no role given'}: use one of ${HEALTHCHECK_ROLES.join(', ')} (or set PAR_ROLE)\n`,
    );
    process.exit(1);
  }
  const result = await runHealthcheck(role as HealthcheckRole, config, opts);
  return new Promise<never>(() => {
    (result.ok ? process.stdout : process.stderr).write(`${role}: ${result.ok ? 'healthy' : 'UNHEALTHY'}: ${result.detail}\n`, () =>
      process.exit(result.ok ? 0 : 1),
    );
  });
}

export function registerHealthcheckCommand(program: Command, env: NodeJS.ProcessEnv): void {
  program
    .command('healthcheck')
    .argument('[role]', `${HEALTHCHECK_ROLES.join(' | ')} (default: PAR_ROLE, else the container's main command)`)
    .option('--liveness', 'runner: only check that the process answers (/healthz), not that it is ready (/readyz)')
    .description('exit 0 when the process of this role here is healthy, 1 otherwise (container and Kubernetes probes)')
    .action(async (roleArg: string | undefined, opts: { liveness?: boolean }) => healthcheckCommand(roleArg, opts, env));
}
