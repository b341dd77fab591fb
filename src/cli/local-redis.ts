/**
 * Finding a Redis for `par start`: use the one at REDIS_URL when it answers, otherwise start a
 * private `redis-server` from PATH on a free loopback port with a temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { ParError } from '../errors/par-error.js';

export interface LocalRedis {
  url: string;
  /** True when this process started the server (and so must stop it). */
  private: boolean;
  stop(): Promise<void>;
}

export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // Typed 'PONG', but whatever answers on that port is checked, not trusted.
    const answer: string = await client.ping();
    return answer === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function findOnPath(command: string, pathVar = process.env['PATH'] ?? ''): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * A loopback port nothing listens on, from 20000-32767: below Linux's ephemeral range
 * (32768-60999), so no outgoing connection can be holding it, or take it, between this check and
 * the caller's listen (a port the kernel hands out for `listen(0)` is an ephemeral one, and any
 * client connection made meanwhile may get it as its local port: EADDRINUSE for the caller).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    if (await canListen(port)) return port;
  }
  return listenPort(0);
}

function canListen(port: number): Promise<boolean> {
  return listenPort(port).then(
    () => true,
    () => false,
  );
}

function listenPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

export async function ensureRedis(url: string): Promise<LocalRedis> {
  if (await redisAnswers(url)) return { url, private: false, stop: () => Promise.resolve() };
  const binary = await findOnPath('redis-server');
  if (!binary) {
    throw new ParError(
      'PAR_ERR_CONFIG_INVALID',
      `REDIS_URL: no Redis answers at ${url} and no redis-server is on PATH; install Redis (for example \`apt-get install redis-server\`) or set REDIS_URL to a Redis you can reach`,
    );
  }
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'par-redis-'));
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const privateUrl = `redis://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await redisAnswers(privateUrl, 200)) return { url: privateUrl, private: true, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new ParError('PAR_ERR_CONFIG_INVALID', `REDIS_URL: no Redis answers at ${url}, and ${binary} did not start on port ${port}`);
}
