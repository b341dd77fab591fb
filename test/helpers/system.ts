/**
 * The whole system as real processes for end-to-end tests: a control plane, a runner enrolled
 * with fresh admin keys, and N workers (ready when startSystem resolves), all on the real Redis
 * under unique prefixes, with a temporary config dir. `stop()` ends every process and deletes
 * every key the test made.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { ApiClient } from '../../src/cli/api-client.js';
import { ADMIN_API, connectionViewSchema } from '../../src/contracts/admin-api.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { freePort } from '../../src/cli/local-redis.js';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from './redis.js';
import { startPar, type ParProcess } from './processes.js';
import { tempDir } from './tmp.js';

export interface SystemOptions {
  workers?: number;
  allowlist?: string;
  runnerName?: string;
  cpEnv?: Record<string, string>;
  runnerEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** A Redis other than the shared test Redis (e.g. a private redis-server the test kills). */
  redisUrl?: string;
}

export interface System {
  cpUrl: string;
  keys: { apiKey: string; appKey: string };
  cpPrefix: string;
  queuePrefix: string;
  configDir: string;
  runnerName: string;
  runnerAdminUrl: string;
  cp: ParProcess;
  runner: ParProcess;
  workers: ParProcess[];
  api: ApiClient;
  redisUrl: string;
  startControlPlane(): Promise<ParProcess>;
  startRunner(extraEnv?: Record<string, string>): Promise<ParProcess>;
  startWorker(extraEnv?: Record<string, string>): ParProcess;
  /** Creates a connection for this runner on the control plane; returns its id. */
  createConnection(c: { integration: string; credentialPath?: string; settings?: Record<string, unknown>; name?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function waitForHttpOk(url: string, timeoutMs: number, proc?: ParProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not up yet
    }
    if (proc && proc.proc.exitCode !== null)
      throw new Error(`${proc.name} exited (${proc.proc.exitCode}) before ${url} answered:\n${proc.output().slice(-4000)}`);
    if (Date.now() > deadline)
      throw new Error(
        `${url} did not answer 200 within ${timeoutMs} ms${proc ? `; ${proc.name} output:\n${proc.output().slice(-4000)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends the processes, deletes every Redis key under `base` and removes the temp dirs a test made. */
export async function releaseTestResources(
  processes: readonly ParProcess[],
  base: string,
  dirs: readonly { remove(): Promise<void> }[],
  redisUrl = TEST_REDIS_URL,
): Promise<void> {
  await Promise.all(processes.map((p) => p.stop('SIGTERM', 5_000)));
  const redis = connectRedis(redisUrl);
  try {
    await deleteKeys(redis, base);
  } finally {
    redis.disconnect();
  }
  await Promise.all(dirs.map((d) => d.remove()));
}

/** The environment of a control plane on loopback, with its state under `${base}:cp`. */
export function controlPlaneEnv(
  port: number,
  base: string,
  keys: { apiKey: string; appKey: string },
  extra: Record<string, string> = {},
  redisUrl = TEST_REDIS_URL,
): Record<string, string> {
  return {
    PAR_CP_HOST: '127.0.0.1',
    PAR_CP_PORT: String(port),
    PAR_CP_REDIS_URL: redisUrl,
    PAR_CP_KEY_PREFIX: `${base}:cp`,
    PAR_ADMIN_API_KEY: keys.apiKey,
    PAR_ADMIN_APP_KEY: keys.appKey,
    ...extra,
  };
}

/** A control plane alone, as a real process on a free port, answering /healthz. */
export async function startControlPlaneProcess(
  base: string,
  keys: { apiKey: string; appKey: string },
  extra: Record<string, string> = {},
): Promise<{ url: string; proc: ParProcess }> {
  const port = await freePort();
  const proc = startPar('control-plane', ['control-plane'], controlPlaneEnv(port, base, keys, extra));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${url}/healthz`, 20_000, proc);
  return { url, proc };
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const base = uniquePrefix('e2e');
  const cpPrefix = `${base}:cp`;
  const queuePrefix = `${base}:q`;
  const dir = await tempDir('e2e');
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  const cpPort = await freePort();
  const adminPort = await freePort();
  const cpUrl = `http://127.0.0.1:${cpPort}`;
  const runnerName = options.runnerName ?? `e2e-${randomBytes(3).toString('hex')}`;
  const allowlist = options.allowlist ?? 'com.datadoghq.http.request';
  const processes: ParProcess[] = [];
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;

  const cpEnv = controlPlaneEnv(cpPort, base, keys, { PAR_LEASE_SWEEP_INTERVAL_MS: '200', ...options.cpEnv }, redisUrl);
  const workerEnv = {
    REDIS_URL: redisUrl,
    PAR_QUEUE_PREFIX: queuePrefix,
    DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
    ACTIONS_ALLOWLIST: allowlist,
    PAR_RETRY_BACKOFF_MS: '100',
    ...options.workerEnv,
  };

  const system: System = {
    cpUrl,
    keys,
    cpPrefix,
    queuePrefix,
    configDir: dir.path,
    runnerName,
    runnerAdminUrl: `http://127.0.0.1:${adminPort}`,
    cp: undefined as unknown as ParProcess,
    runner: undefined as unknown as ParProcess,
    workers: [],
    api: new ApiClient({ controlPlaneUrl: cpUrl, apiKey: keys.apiKey, appKey: keys.appKey }),
    redisUrl,
    async startControlPlane() {
      const cp = startPar('control-plane', ['control-plane'], cpEnv);
      processes.push(cp);
      system.cp = cp;
      await waitForHttpOk(`${cpUrl}/healthz`, 20_000, cp);
      return cp;
    },
    async startRunner(extraEnv = {}) {
      const runner = startPar('runner', ['runner', '--with-api-key'], {
        DD_BASE_URL: cpUrl,
        DD_API_KEY: keys.apiKey,
        DD_APP_KEY: keys.appKey,
        RUNNER_NAME: runnerName,
        ACTIONS_ALLOWLIST: allowlist,
        DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
        REDIS_URL: redisUrl,
        PAR_QUEUE_PREFIX: queuePrefix,
        PAR_RUNNER_ADMIN_PORT: String(adminPort),
        PAR_POLL_BACKOFF_MAX_MS: '300',
        PAR_PUBLISH_BACKOFF_MAX_MS: '300',
        PAR_ENROLL_BACKOFF_MAX_MS: '300',
        ...options.runnerEnv,
        ...extraEnv,
      });
      processes.push(runner);
      system.runner = runner;
      await waitForHttpOk(`${system.runnerAdminUrl}/readyz`, 30_000, runner);
      return runner;
    },
    startWorker(extraEnv = {}) {
      const worker = startPar(`worker-${system.workers.length + 1}`, ['worker'], { ...workerEnv, ...extraEnv });
      processes.push(worker);
      system.workers.push(worker);
      return worker;
    },
    async createConnection(c) {
      const identity = await readIdentity(dir.path);
      if (!identity) throw new Error('the runner has not enrolled');
      // Through the admin API (POST /api/v1/connections), as users do; names are unique per runner.
      const res = await request(`${cpUrl}${ADMIN_API.connections}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'dd-application-key': keys.appKey },
        body: JSON.stringify({
          runnerId: identity.runnerId,
          name: c.name ?? `${c.integration}-conn-${randomBytes(3).toString('hex')}`,
          integration: c.integration,
          ...(c.credentialPath ? { credentialPath: c.credentialPath } : {}),
          ...(c.settings ? { settings: c.settings } : {}),
        }),
      });
      const body = await res.body.json();
      if (res.statusCode !== 201) throw new Error(`POST ${ADMIN_API.connections}: ${res.statusCode} ${JSON.stringify(body)}`);
      return connectionViewSchema.parse(body).id;
    },
    async stop() {
      await releaseTestResources(processes, base, [dir], redisUrl);
    },
  };

  try {
    await system.startControlPlane();
    await system.startRunner();
    for (let i = 0; i < (options.workers ?? 1); i++) system.startWorker();
    // Ready before the test starts its clocks: a test's waits measure the system, not start-up
    // (a worker loads every action bundle, which takes seconds on a busy machine). Workers told
    // to log only warnings (the chaos suite) never print it; those are not waited for.
    const level = options.workerEnv?.['PAR_LOG_LEVEL'] ?? 'info';
    if (['trace', 'debug', 'info'].includes(level)) await Promise.all(system.workers.map((w) => w.waitForOutput(/worker ready/, 60_000)));
  } catch (error) {
    await system.stop();
    throw error;
  }
  return system;
}
