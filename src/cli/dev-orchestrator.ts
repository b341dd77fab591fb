/**
 * `par start`: the whole system on one host, as separate processes, the way production runs it:
 * the control plane, one runner (enrolled with the local admin keys) and N workers, plus a
 * private redis-server when none answers. Child output goes to <state dir>/logs/<name>.log.
 * Ctrl-C stops workers, then the runner, then the control plane, then Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import type { DevConfig } from '../config/dev.js';
import { ParError } from '../errors/par-error.js';
import { ensureRedis, freePort, type LocalRedis } from './local-redis.js';
import { parSelfCommand } from './self-command.js';

const PAR = parSelfCommand();

interface Child {
  name: string;
  proc: ChildProcess;
  logPath: string;
}

interface AdminKeys {
  apiKey: string;
  appKey: string;
}

async function loadOrCreateKeys(config: DevConfig, stateDir: string): Promise<AdminKeys> {
  if (config.adminApiKey && config.adminAppKey) return { apiKey: config.adminApiKey, appKey: config.adminAppKey };
  const path = join(stateDir, 'admin-keys.json');
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as AdminKeys;
    if (saved.apiKey && saved.appKey) return saved;
  } catch {
    // first start
  }
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  await writeFile(path, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  return keys;
}

async function loadOrCreateInstallId(stateDir: string): Promise<string> {
  const path = join(stateDir, 'install-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (/^[a-f0-9]{8,}$/.test(id)) return id;
  } catch {
    // first start
  }
  const id = randomBytes(6).toString('hex');
  await writeFile(path, `${id}\n`);
  return id;
}

async function portOrFree(preferred: number): Promise<number> {
  if (preferred === 0) return freePort();
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => {
      void freePort().then(resolvePort);
    });
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolvePort(preferred)));
  });
}

async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) break;
    try {
      const res = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ParError(
    'PAR_ERR_INTERNAL',
    `${child.name} did not become ready at ${url}; its log: ${child.logPath}\n${await tail(child.logPath)}`,
  );
}

async function tail(path: string, lines = 15): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * A dev worker's own settings (on top of PATH, HOME, log level): queue, config dir, Redis,
 * allowlist. Never the API/app/admin keys the control plane and runner get: a worker needs none,
 * and a script must find none in it (test/unit/worker-env-no-keys.test.ts).
 */
export function devWorkerEnv(o: { queuePrefix: string; configDir: string; redisUrl: string; allowlist: string }): Record<string, string> {
  return {
    PAR_QUEUE_PREFIX: o.queuePrefix,
    DD_PRIVATE_RUNNER_CONFIG_DIR: o.configDir,
    REDIS_URL: o.redisUrl,
    ACTIONS_ALLOWLIST: o.allowlist,
  };
}

export async function runDevSystem(config: DevConfig): Promise<void> {
  const stateDir = resolve(config.stateDir);
  const logDir = join(stateDir, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const redis: LocalRedis = await ensureRedis(config.redisUrl);
  const children: Child[] = [];
  let tempConfigDir: string | undefined;
  let stopping = false;

  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const child of [...children].reverse()) {
      if (child.proc.exitCode !== null || child.proc.signalCode !== null) continue;
      const exited = new Promise((r) => child.proc.once('exit', r));
      child.proc.kill('SIGTERM');
      const timer = setTimeout(() => child.proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await redis.stop();
    if (tempConfigDir) await rm(tempConfigDir, { recursive: true, force: true });
  };

  try {
    const keys = await loadOrCreateKeys(config, stateDir);
    // A private Redis starts empty, so the control plane forgets every runner: enroll afresh in a
    // temporary config dir. With a shared Redis, keep the runner identity under the state dir.
    const configDir = redis.private ? (tempConfigDir = await mkdtemp(join(tmpdir(), 'par-runner-'))) : join(stateDir, 'runner');
    const cpPort = await portOrFree(config.controlPlanePort);
    const adminPort = await portOrFree(config.runnerAdminPort);
    const cpUrl = `http://127.0.0.1:${cpPort}`;
    const common = {
      ...config.otelEnv,
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      PAR_LOG_LEVEL: config.logLevel,
      NODE_ENV: process.env['NODE_ENV'] ?? 'development',
    };
    // Each state dir has its own namespace in a shared Redis, so two checkouts (or a fresh
    // state dir after `rm -rf .par`) never collide on runner names or queues.
    const namespace = redis.private ? 'par:local' : `par:local:${await loadOrCreateInstallId(stateDir)}`;
    const prefixEnv = { PAR_QUEUE_PREFIX: namespace };

    const spawnChild = async (name: string, args: string[], env: Record<string, string>): Promise<Child> => {
      const logPath = join(logDir, `${name}.log`);
      const log = await open(logPath, 'a', 0o600);
      const proc = spawn(PAR.command, [...PAR.args, ...args], { env: { ...common, ...env }, stdio: ['ignore', log.fd, log.fd] });
      await log.close();
      const child = { name, proc, logPath };
      children.push(child);
      proc.once('exit', (code, signal) => {
        if (stopping) return;
        void tail(logPath).then((lines) => {
          process.stderr.write(
            `\n${name} exited unexpectedly (${signal ?? `code ${code}`}); last lines of ${logPath}:\n${lines}\n\nstopping everything.\n`,
          );
          void stopAll().then(() => process.exit(1));
        });
      });
      return child;
    };

    const cp = await spawnChild('control-plane', ['control-plane'], {
      PAR_CP_HOST: '127.0.0.1',
      PAR_CP_PORT: String(cpPort),
      PAR_CP_REDIS_URL: redis.url,
      PAR_CP_KEY_PREFIX: `${namespace}:cp`,
      PAR_ADMIN_API_KEY: keys.apiKey,
      PAR_ADMIN_APP_KEY: keys.appKey,
    });
    await waitForHttp(`${cpUrl}/healthz`, cp, 30_000);

    const runner = await spawnChild('runner', ['runner', '--with-api-key'], {
      ...prefixEnv,
      DD_BASE_URL: cpUrl,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: config.runnerName,
      ACTIONS_ALLOWLIST: config.allowlist,
      DD_PRIVATE_RUNNER_CONFIG_DIR: configDir,
      REDIS_URL: redis.url,
      PAR_RUNNER_ADMIN_HOST: '127.0.0.1',
      PAR_RUNNER_ADMIN_PORT: String(adminPort),
    });
    await waitForHttp(`http://127.0.0.1:${adminPort}/readyz`, runner, 60_000);

    for (let i = 1; i <= config.workers; i++) {
      await spawnChild(
        `worker-${i}`,
        ['worker'],
        devWorkerEnv({ queuePrefix: namespace, configDir, redisUrl: redis.url, allowlist: config.allowlist }),
      );
    }

    process.stdout.write(
      [
        '',
        'Private action runner is up.',
        `  control plane    ${cpUrl}`,
        `  queue dashboard  http://127.0.0.1:${adminPort}/queues  (read-only)`,
        `  redis            ${redis.url}${redis.private ? '  (private redis-server, temporary)' : ''}`,
        `  runner           ${config.runnerName}, allowlist ${config.allowlist}, ${config.workers} workers`,
        `  API key          ${keys.apiKey}`,
        `  app key          ${keys.appKey}`,
        `  logs             ${logDir}`,
        '',
        'Try:',
        `  DD_BASE_URL=${cpUrl} DD_APP_KEY=${keys.appKey} node bin/par.js task run --runner ${config.runnerName} \\`,
        `    --action com.datadoghq.http.request --input '{"verb":"GET","url":"${cpUrl}/healthz"}' --wait`,
        '',
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  await new Promise<void>((resolveStop) => {
    let signalled = false;
    const onSignal = (): void => {
      if (signalled) process.exit(130);
      signalled = true;
      process.stdout.write('\nstopping...\n');
      void stopAll().then(() => resolveStop());
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.stdout.write('stopped.\n');
}
