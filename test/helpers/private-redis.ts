/**
 * A private `redis-server` for tests and the chaos suite that break Redis on purpose (kill -9,
 * SHUTDOWN, OOM): on a free loopback port, with AOF in a temporary directory, restartable on the
 * same port from the same AOF. Never the shared test Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { findOnPath, freePort, redisAnswers } from '../../src/cli/local-redis.js';
import { tempDir } from './tmp.js';

export interface PrivateRedisOptions {
  /** `always` makes every acknowledged write survive kill -9; `everysec` is what production uses. */
  appendfsync?: 'always' | 'everysec';
  startTimeoutMs?: number;
}

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  /** Whether the server process is running. */
  running(): boolean;
  /** Sends a signal to the server (SIGKILL, SIGSTOP, SIGCONT); resolves once it exited for kill signals. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** `SHUTDOWN` through a client (clean stop, AOF flushed); resolves once the process exited. */
  shutdown(): Promise<void>;
  /** Starts it again on the same port with the same directory (and AOF), answering PING. */
  restart(): Promise<void>;
  /** A client of this server (the caller disconnects it). */
  client(): Redis;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
  /** SIGKILL at once, synchronously (for exit and SIGINT handlers); leaves the directory. */
  killNow(): void;
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const binary = await findOnPath('redis-server');
  if (!binary) throw new Error('redis-server is not on PATH (apt-get install redis-server)');
  const port = await freePort();
  const dir = await tempDir('redis');
  const url = `redis://127.0.0.1:${port}`;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const alive = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir.path,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        options.appendfsync ?? 'everysec',
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${proc.exitCode} at start`);
      if (await redisAnswers(url, 300)) {
        // Loading a large AOF answers PING with -LOADING; wait until it serves reads.
        const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on('error', () => undefined);
        try {
          await c.connect();
          await c.dbsize();
          return;
        } catch {
          // still loading
        } finally {
          c.disconnect();
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${port} did not answer within ${startTimeoutMs} ms`);
  };

  const redis: PrivateRedis = {
    url,
    port,
    dir: dir.path,
    running: alive,
    async kill(signal = 'SIGKILL') {
      if (!alive()) return;
      child!.kill(signal);
      if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited;
    },
    async shutdown() {
      if (!alive()) return;
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.call('SHUTDOWN').catch(() => undefined); // the connection closes as the server exits
      } finally {
        c.disconnect();
      }
      await exited;
    },
    async restart() {
      if (alive()) throw new Error('redis-server is still running');
      await launch();
    },
    client: () => {
      const c = new Redis(url, { maxRetriesPerRequest: null });
      c.on('error', () => undefined); // reconnects on its own while the server is down on purpose
      return c;
    },
    killNow() {
      if (alive()) {
        child!.kill('SIGCONT');
        child!.kill('SIGKILL');
      }
    },
    async stop() {
      if (alive()) {
        child!.kill('SIGCONT');
        child!.kill('SIGKILL');
        await exited;
      }
      await dir.remove();
    },
  };
  try {
    await launch();
  } catch (error) {
    await redis.stop();
    throw error;
  }
  return redis;
}
