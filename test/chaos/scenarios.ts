/**
 * The chaos scenarios. Each gets a cluster and a workload, injects its faults while tasks are in
 * flight, restarts what it broke, and records every fault with the moment the broken part was
 * back (`backAt`, for the recovery time). Each wait is bounded and fails loudly past its bound.
 */
import { CRASH_POINT_ENV, CRASH_POINTS, type CrashPoint } from './crash-points.js';
import { isAlive, type ChaosCluster } from './cluster.js';
import type { ParProcess } from '../helpers/processes.js';
import { sleep, type Workload } from './workload.js';

export interface Fault {
  kind: string;
  at: number;
  /** When the broken part was running again. */
  backAt: number;
}

export interface ScenarioContext {
  cluster: ChaosCluster;
  workload: Workload;
  faults: Fault[];
  /** Set when the scenario could not inject its fault (e.g. a missing test hook): reported loudly. */
  notAvailable?: string;
  note(text: string): void;
  log(text: string): void;
}

export interface Scenario {
  /** URL-safe id (the target's path, the idempotency keys). */
  id: string;
  name: string;
  run(ctx: ScenarioContext): Promise<void>;
}

const rand = (min: number, max: number): number => min + Math.random() * (max - min);

/** Waits for `check` to be true, polling every 100 ms; throws past `boundMs` naming `what`. */
export async function until(check: () => boolean, boundMs: number, what: string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bound exceeded (${boundMs} ms) waiting for ${what}`);
    await sleep(100);
  }
}

/** Starts the runner again; a runner not ready within the bound is noted, and the scenario goes on. */
async function restartRunner(ctx: ScenarioContext, extraEnv: Record<string, string> = {}): Promise<ParProcess> {
  const { proc, notReady } = await ctx.cluster.startRunner(extraEnv);
  if (notReady) ctx.note(`runner restarted but not ready within 30 s: ${notReady.slice(0, 300)}`);
  return proc;
}

/** Stops a process with `signal`; SIGKILL past `boundMs` (noted). */
async function stopBounded(ctx: ScenarioContext, p: ParProcess, signal: NodeJS.Signals, boundMs: number): Promise<void> {
  const started = Date.now();
  await p.stop(signal, boundMs);
  if (signal !== 'SIGKILL' && Date.now() - started >= boundMs) ctx.note(`${p.name} ignored ${signal} for ${boundMs} ms and was killed`);
}

export interface RandomKillsParams {
  tasks: number;
  faults: number;
  gapMs: [number, number];
  taskMs: [number, number];
  boundMs: number;
}

/**
 * (a) Random SIGKILLs of workers (60 %), the runner (25 %) and the control plane (15 %), each
 * victim restarted before the next. Tasks are submitted in as many waves as there are kills, one
 * wave just before each kill, so every kill hits work in flight.
 */
export function randomKills(p: RandomKillsParams): Scenario {
  return {
    id: 'random-kill',
    name: 'random SIGKILL',
    async run(ctx) {
      const { cluster, workload } = ctx;
      const deadline = Date.now() + p.boundMs;
      const wave = Math.ceil(p.tasks / p.faults);
      while (ctx.faults.length < p.faults) {
        if (Date.now() > deadline)
          throw new Error(`bound exceeded (${p.boundMs} ms) injecting ${p.faults} kills (${ctx.faults.length} done)`);
        await workload.submit(Math.min(wave, p.tasks - workload.submitted.length), () => rand(p.taskMs[0], p.taskMs[1]));
        await sleep(rand(p.gapMs[0], p.gapMs[1]));
        const dice = Math.random();
        const at = Date.now();
        let kind: string;
        if (dice < 0.6) {
          const live = cluster.liveWorkers();
          const victim = live[Math.floor(Math.random() * live.length)];
          if (!victim) throw new Error('no live worker');
          await victim.stop('SIGKILL');
          await sleep(rand(0, 500));
          cluster.startWorker();
          kind = 'worker';
        } else if (dice < 0.85) {
          await cluster.system.runner.stop('SIGKILL');
          await sleep(rand(0, 500));
          await restartRunner(ctx);
          kind = 'runner';
        } else {
          await cluster.system.cp.stop('SIGKILL');
          await sleep(rand(0, 500));
          await cluster.startControlPlane();
          kind = 'control plane';
        }
        ctx.faults.push({ kind, at, backAt: Date.now() });
        ctx.log(`kill ${ctx.faults.length}/${p.faults}: ${kind} (${workload.submitted.length}/${p.tasks} tasks submitted)`);
      }
      if (workload.submitted.length < p.tasks)
        await workload.submit(p.tasks - workload.submitted.length, () => rand(p.taskMs[0], p.taskMs[1]));
    },
  };
}

export interface CrashPointParams {
  tasks: number;
  taskMs: [number, number];
  crashBoundMs: number;
}

/** (b) The runner started with PAR_TEST_CRASH_AT=<point> dies there; restarted without it. */
export function crashPoint(point: CrashPoint, p: CrashPointParams): Scenario {
  return {
    id: `crash-${point}`,
    name: `crash at ${point}`,
    async run(ctx) {
      const { cluster, workload } = ctx;
      await stopBounded(ctx, cluster.system.runner, 'SIGTERM', 30_000);
      const armed = await restartRunner(ctx, { [CRASH_POINT_ENV]: point });
      await workload.submit(p.tasks, () => rand(p.taskMs[0], p.taskMs[1]));
      const exited = await Promise.race([armed.exited.then(() => true), sleep(p.crashBoundMs).then(() => false)]);
      if (!exited) {
        ctx.notAvailable = `the runner never died at ${point} within ${p.crashBoundMs} ms: is the ${CRASH_POINT_ENV} hook in src/runner?`;
        await stopBounded(ctx, armed, 'SIGTERM', 30_000);
        await restartRunner(ctx);
        return;
      }
      const at = Date.now();
      await restartRunner(ctx);
      ctx.faults.push({ kind: `runner died at ${point}`, at, backAt: Date.now() });
    },
  };
}

export function allCrashPoints(p: CrashPointParams): Scenario[] {
  return CRASH_POINTS.map((point) => crashPoint(point, p));
}

export interface RedisFaultParams {
  tasks: number;
  taskMs: [number, number];
  downMs: number;
}

/** (c) Redis stopped (SHUTDOWN, or kill -9) while tasks run, restarted on the same port from the same AOF. */
export function redisFault(kind: 'SHUTDOWN' | 'kill -9', p: RedisFaultParams): Scenario {
  return {
    id: kind === 'SHUTDOWN' ? 'redis-shutdown' : 'redis-kill9',
    name: `redis ${kind}`,
    async run(ctx) {
      const { cluster, workload } = ctx;
      await workload.submit(p.tasks, () => rand(p.taskMs[0], p.taskMs[1]));
      // appendfsync everysec: an acknowledged write reaches the disk within about a second. Faults
      // come after that, so a lost submission means a bug, not the fsync policy.
      await sleep(1_500);
      await until(
        () => cluster.target.answered(workload.scenario) >= Math.min(5, p.tasks) && cluster.target.inFlight(workload.scenario) > 0,
        60_000,
        'tasks running before the Redis fault',
      );
      const at = Date.now();
      if (kind === 'SHUTDOWN') await cluster.redis.shutdown();
      else await cluster.redis.kill('SIGKILL');
      await sleep(p.downMs);
      await cluster.redis.restart();
      ctx.faults.push({ kind: `redis ${kind}`, at, backAt: Date.now() });
      for (const proc of [cluster.system.cp, cluster.system.runner, ...cluster.liveWorkers()]) {
        if (!isAlive(proc)) ctx.note(`${proc.name} exited during the Redis fault`);
      }
    },
  };
}

export interface OutageParams {
  tasks: number;
  taskMs: [number, number];
  outageMs: number;
}

/** (d) The control plane down for `outageMs` while tasks run; results produced meanwhile wait in the outbox. */
export function controlPlaneOutage(p: OutageParams): Scenario {
  return {
    id: 'cp-outage',
    name: `control plane down ${Math.round(p.outageMs / 1000)} s`,
    async run(ctx) {
      const { cluster, workload } = ctx;
      await workload.submit(p.tasks, () => rand(p.taskMs[0], p.taskMs[1]));
      await until(
        () => cluster.target.answered(workload.scenario) >= Math.min(5, p.tasks) && cluster.target.inFlight(workload.scenario) > 0,
        60_000,
        'tasks running before the outage',
      );
      const at = Date.now();
      await cluster.system.cp.stop('SIGKILL');
      await sleep(p.outageMs);
      await cluster.startControlPlane();
      ctx.faults.push({ kind: 'control plane outage', at, backAt: Date.now() });
    },
  };
}

export interface SigtermParams {
  tasks: number;
  taskMs: [number, number];
  exitBoundMs: number;
}

/** (e) SIGTERM to a worker or the runner while it has tasks in flight; a new one started once it exited. */
export function sigtermMidTask(which: 'worker' | 'runner', p: SigtermParams): Scenario {
  return {
    id: `sigterm-${which}`,
    name: `SIGTERM ${which} mid-task`,
    async run(ctx) {
      const { cluster, workload } = ctx;
      await workload.submit(p.tasks, () => rand(p.taskMs[0], p.taskMs[1]));
      await until(() => cluster.target.inFlight(workload.scenario) >= Math.min(5, p.tasks), 60_000, 'tasks in flight');
      const at = Date.now();
      if (which === 'worker') {
        const victim = cluster.liveWorkers()[0];
        if (!victim) throw new Error('no live worker');
        await stopBounded(ctx, victim, 'SIGTERM', p.exitBoundMs);
        cluster.startWorker();
      } else {
        await stopBounded(ctx, cluster.system.runner, 'SIGTERM', p.exitBoundMs);
        await restartRunner(ctx);
      }
      ctx.faults.push({ kind: `SIGTERM ${which}`, at, backAt: Date.now() });
    },
  };
}
