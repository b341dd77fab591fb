/**
 * One chaos cluster: a private redis-server with AOF (`everysec`, like production), the real
 * control plane, runner and workers on it (test/helpers/system.ts), and the loopback execution
 * target. Processes can be killed and restarted; every child ever started is remembered so that
 * `close()` (and `killAllNow()` from a SIGINT handler) leaves nothing running.
 */
import { rm } from 'node:fs/promises';
import { request } from 'undici';
import type { ParProcess } from '../helpers/processes.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startSystem, type System } from '../helpers/system.js';
import { startExecutionTarget, type ExecutionTarget } from './target.js';

export interface ClusterSettings {
  workers: number;
  cpEnv: Record<string, string>;
  runnerEnv: Record<string, string>;
  workerEnv: Record<string, string>;
}

export interface ChaosCluster {
  system: System;
  redis: PrivateRedis;
  target: ExecutionTarget;
  liveWorkers(): ParProcess[];
  isAlive(p: ParProcess): boolean;
  startWorker(): ParProcess;
  /**
   * Starts a runner and waits (bounded) for /readyz. A runner that is running but not ready in
   * time is returned with `notReady` (its /readyz answer): readiness is not liveness, and the
   * scenario goes on and reports it.
   */
  startRunner(extraEnv?: Record<string, string>): Promise<{ proc: ParProcess; notReady?: string }>;
  startControlPlane(): Promise<ParProcess>;
  close(): Promise<void>;
  killAllNow(): void;
}

const open = new Set<ChaosCluster>();

/** Kills every child of every open cluster at once (exit / SIGINT). */
export function killAllClustersNow(): void {
  for (const c of open) c.killAllNow();
}

export function isAlive(p: ParProcess): boolean {
  return p.proc.exitCode === null && p.proc.signalCode === null;
}

export async function startCluster(settings: ClusterSettings): Promise<ChaosCluster> {
  const redis = await startPrivateRedis({ appendfsync: 'everysec' });
  const all: ParProcess[] = [];
  let target: ExecutionTarget | undefined;
  let system: System | undefined;
  const killAllNow = (): void => {
    for (const p of [...all, ...(system ? [system.cp, system.runner, ...system.workers] : [])]) {
      if (isAlive(p)) p.proc.kill('SIGKILL');
    }
    redis.killNow();
  };
  const placeholder = { killAllNow } as ChaosCluster;
  open.add(placeholder);
  try {
    target = await startExecutionTarget();
    system = await startSystem({
      redisUrl: redis.url,
      workers: settings.workers,
      cpEnv: settings.cpEnv,
      runnerEnv: settings.runnerEnv,
      workerEnv: settings.workerEnv,
    });
    all.push(system.cp, system.runner, ...system.workers);
  } catch (error) {
    killAllNow();
    open.delete(placeholder);
    await target?.close();
    await redis.stop();
    throw error;
  }
  const sys = system;
  const tgt = target;
  const cluster: ChaosCluster = {
    system: sys,
    redis,
    target: tgt,
    isAlive,
    liveWorkers: () => sys.workers.filter(isAlive),
    startWorker() {
      const w = sys.startWorker();
      all.push(w);
      return w;
    },
    async startRunner(extraEnv = {}) {
      try {
        const r = await sys.startRunner(extraEnv);
        all.push(r);
        return { proc: r };
      } catch (error) {
        const r = sys.runner;
        all.push(r);
        if (!isAlive(r)) throw error;
        let detail = 'no answer';
        try {
          const res = await request(`${sys.runnerAdminUrl}/readyz`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
          detail = `${res.statusCode} ${await res.body.text()}`;
        } catch {
          // detail stays 'no answer'
        }
        return { proc: r, notReady: detail };
      }
    },
    async startControlPlane() {
      const cp = await sys.startControlPlane().catch((error: unknown) => {
        if (isAlive(sys.cp)) all.push(sys.cp);
        throw error;
      });
      all.push(cp);
      return cp;
    },
    async close() {
      open.delete(cluster);
      await Promise.all(all.filter(isAlive).map((p) => p.stop('SIGKILL', 5_000)));
      await tgt.close();
      await redis.stop();
      await rm(sys.configDir, { recursive: true, force: true });
    },
    killAllNow,
  };
  open.delete(placeholder);
  open.add(cluster);
  return cluster;
}
