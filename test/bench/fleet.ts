/**
 * `npm run bench:fleet`: how many runners one control-plane process holds. A real control plane
 * (spawned like the e2e tests) on a private redis-server, both on loopback; N light in-process
 * runner clients in this process that do what the real runner does (src/runner): ONE keep-alive
 * socket (an undici Client, pipelining), a long-poll loop that carries the health check when one
 * is due (every FLEET_HEALTH_INTERVAL_MS; a poll never waits past the next due check), and for each
 * task a heartbeat and its result sent while the next poll is parked (pipelined behind it; the
 * control plane answers the parked poll at once: control-plane/parked-polls.ts). Request JWTs come
 * from the runner's own minter (src/crypto/runner-token.ts, cached for their lifetime).
 *
 * FLEET_HEALTH_ON_POLL=0 gives the earlier shape (health checks apart, no pipelining: a health
 * check cannot overtake a parked poll, so each poll waits at most one health interval);
 * FLEET_SOCKETS=2 with it, the runner before issue 12 (poll and health on separate sockets).
 *
 * Phases, each bounded by a timeout that fails loudly: enroll N runners (admin API with keys,
 * FLEET_ENROLL_CONCURRENCY at a time) -> first-poll burst (all N start at once; time until the
 * control plane holds N waiters, and how late the first polls came back) -> idle (control-plane
 * CPU from /proc/<pid>/stat and Redis CPU from INFO over FLEET_IDLE_MS; fds and sockets of the
 * control plane) -> wake (FLEET_WAKE_TASKS tasks at FLEET_WAKE_RATE/s to random runners; time
 * from submit to the runner's dequeue answer).
 *
 * Settings (env): FLEET_RUNNERS (comma list, default 1000), FLEET_SOCKETS (1|2, default 1), FLEET_HEALTH_ON_POLL (1|0, default 1),
 * FLEET_POLL_WAIT_MS (20000), FLEET_HEALTH_INTERVAL_MS (5000; 0 = none), FLEET_IDLE_MS (10000),
 * FLEET_WAKE_TASKS (200), FLEET_WAKE_RATE (20), FLEET_ENROLL_CONCURRENCY (16), FLEET_CP_LOG_LEVEL
 * (the control plane's PAR_LOG_LEVEL, default info like production), FLEET_NICE (e.g. -5: renice the
 * control plane, Redis and this process; root only; unset = no renice).
 * Figures are printed as one JSON line per size, then a table. Nothing is cached across runs.
 */
import { randomBytes } from 'node:crypto';
import { loadavg, setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { Client, Pool, request, type Dispatcher } from 'undici';
import { ApiClient } from '../../src/cli/api-client.js';
import { freePort } from '../../src/cli/local-redis.js';
import { RUNNER_API, type DequeueResponse } from '../../src/contracts/runner-api.js';
import { generateSigningKeyPair, importSigningKey, publicPart } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startPar, type ParProcess } from '../helpers/processes.js';
import { controlPlaneEnv, waitForHttpOk } from '../helpers/system.js';

const ACTION = 'com.datadoghq.http.request';

export interface FleetOptions {
  runners: number;
  /** Sockets per runner: 1 (poll, health and heartbeats share one keep-alive socket) or 2 (poll on its own). */
  sockets?: 1 | 2;
  pollWaitMs?: number;
  /** 0: no health checks. */
  healthIntervalMs?: number;
  /** Health carried on the poll, heartbeats and results pipelined behind it (the real runner); false: health apart (before). */
  healthOnPoll?: boolean;
  idleMs?: number;
  wakeTasks?: number;
  wakeRate?: number;
  enrollConcurrency?: number;
  cpLogLevel?: string;
  /**
   * Nice value for the control plane, Redis and this process (needs root for < 0): on a shared,
   * oversubscribed machine the scheduler would otherwise starve the control plane and the
   * figures would measure the machine's load, not the control plane.
   */
  nice?: number;
  /** Extra control-plane environment. */
  cpEnv?: Record<string, string>;
  log?: (line: string) => void;
}

export interface FleetFigures {
  runners: number;
  sockets: number;
  pollWaitMs: number;
  healthIntervalMs: number;
  healthOnPoll: boolean;
  enrollSeconds: number;
  /** From the start of all runners until the control plane holds N long-poll waiters (null: not within the first poll's wait). */
  burstSeconds: number | null;
  burstPeakWaiters: number;
  /** Connections the kernel dropped during the burst because the accept queue was full (machine-wide counter). */
  burstListenOverflows: number;
  /** First polls that came back more than 1 s after their waitMs, and the worst lateness. */
  firstPollsLate: number;
  firstPollLateP50Ms: number;
  firstPollLateMaxMs: number;
  idle: {
    seconds: number;
    requestsPerSecond: number;
    cpCpuPercentOfOneCore: number;
    cpCpuMsPerRequest: number;
    redisCpuPercentOfOneCore: number;
    redisCommandsPerRequest: number;
    fleetCpuPercentOfOneCore: number;
    /** Event-loop delay of the control plane (since its start) and of this process (during idle). */
    cpLoopDelayP99Ms: number;
    cpLoopDelayMaxMs: number;
    fleetLoopDelayMaxMs: number;
    /** Redis calls per runner request by command, scripts' inner calls included. */
    redisCallsPerRequest: Record<string, number>;
  };
  cpFds: number;
  cpSockets: number;
  cpRssMb: number;
  wake: { tasks: number; submitErrors: number; delivered: number; p50Ms: number; p99Ms: number; maxMs: number };
  /**
   * Runner requests per 250 ms through the wake phase: min / mean / max. A max far above the mean
   * (with a min far below) means the fleet polls in waves, one per health interval; a task
   * submitted in a wave waits for the control plane to work through it (ARCHITECTURE.md, "Fleet scale").
   */
  requestsPer250Ms: { min: number; mean: number; max: number };
  /** Heartbeat + result of each delivered task, sent while the next poll is parked: time to both answers. */
  report: { p50Ms: number; p99Ms: number; maxMs: number };
  errors: number;
  loadAverage: string;
  nice: number | null;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function withTimeout<T>(phase: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fleet bench: phase "${phase}" did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
  return Number(fields[11]) + Number(fields[12]);
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Math.round(Number(kb) / 1024) : NaN;
}

async function fdCounts(pid: number): Promise<{ fds: number; sockets: number }> {
  const entries = await readdir(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const e of entries) {
    const target = await readlink(`/proc/${pid}/fd/${e}`).catch(() => '');
    if (target.startsWith('socket:')) sockets++;
  }
  return { fds: entries.length, sockets };
}

async function redisPid(redis: PrivateRedis): Promise<number> {
  const client = redis.client();
  try {
    return Number(/^process_id:(\d+)/m.exec(await client.info('server'))?.[1]);
  } finally {
    client.disconnect();
  }
}

/** Processes of the run in progress, killed by the signal handlers of main(). */
const live = new Set<{ killNow(): void }>();

async function redisInfo(redis: PrivateRedis): Promise<{ cpuSeconds: number; commands: number; byCommand: Map<string, number> }> {
  const client = redis.client();
  try {
    const text = await client.info('all');
    const num = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
    // Calls made inside Lua scripts count too (cmdstat_* and total_commands_processed).
    const byCommand = new Map<string, number>();
    for (const m of text.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) byCommand.set(m[1]!, Number(m[2]));
    return { cpuSeconds: num('used_cpu_sys') + num('used_cpu_user'), commands: num('total_commands_processed'), byCommand };
  } finally {
    client.disconnect();
  }
}

/** TcpExt ListenOverflows (machine-wide): SYNs dropped because an accept queue was full. */
async function listenOverflows(): Promise<number> {
  const text = await readFile('/proc/net/netstat', 'utf8');
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('ListenOverflows')] ?? NaN);
}

/** The control plane's event-loop delay (prom-client default metrics), ms. */
async function cpLoopDelay(cpUrl: string): Promise<{ p99Ms: number; maxMs: number }> {
  const res = await request(`${cpUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  const num = (name: string): number => Math.round(Number(new RegExp(`^par_cp_${name} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 1000);
  return { p99Ms: num('nodejs_eventloop_lag_p99_seconds'), maxMs: num('nodejs_eventloop_lag_max_seconds') };
}

async function waiters(cpUrl: string): Promise<number> {
  const res = await request(`${cpUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  return Number(/^par_cp_longpoll_waiters (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
async function inLanes<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

/** FLEET_TRACE=1: print the calls of the first runner with their times. */
let TRACE: { id: string; t0: number } | undefined;

interface Counters {
  requests: number;
  errors: number;
  lastError?: string;
  /** ms from sending a task's heartbeat until its result was answered. */
  reportMs: number[];
  /** Heartbeat + result pairs finished (answered or failed). */
  reportsDone: number;
}

const HEALTH = { version: 'fleet', platform: 'bench', allowlist: [ACTION], capacity: 10, inFlight: 0, healthy: true, problems: [] };

class FleetRunner {
  private readonly dispatcher: Dispatcher;
  private running = true;
  private healthTimer: NodeJS.Timeout | undefined;
  private lastHealthAt: number | undefined;
  firstPollLateMs: number | undefined;

  constructor(
    private readonly cpUrl: string,
    readonly runnerId: string,
    private readonly minter: RunnerTokenMinter,
    private readonly o: { sockets: 1 | 2; pollWaitMs: number; healthIntervalMs: number; healthOnPoll: boolean },
    private readonly counters: Counters,
    private readonly onDelivered: (taskId: string, at: number) => void,
  ) {
    const common = {
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 120_000,
      headersTimeout: 90_000,
      bodyTimeout: 90_000,
      connectTimeout: 60_000,
    };
    // Health on the poll: pipelining as the real runner's client (control-plane-client.ts).
    this.dispatcher =
      o.sockets === 1
        ? new Client(cpUrl, { ...common, pipelining: o.healthOnPoll ? 8 : 1 })
        : new Pool(cpUrl, { ...common, connections: 2, pipelining: 1 });
  }

  get waitMs(): number {
    return this.o.sockets === 1 && this.o.healthIntervalMs > 0 ? Math.min(this.o.pollWaitMs, this.o.healthIntervalMs) : this.o.pollWaitMs;
  }

  /** Health on the poll: the check when one is due, and how long the poll may wait. */
  private carried(now: number): { health?: typeof HEALTH; waitMs: number } {
    const interval = this.o.healthIntervalMs;
    if (!this.o.healthOnPoll || interval <= 0) return { waitMs: this.waitMs };
    const untilDue = this.lastHealthAt === undefined ? 0 : this.lastHealthAt + interval - now;
    if (untilDue <= 0) return { health: HEALTH, waitMs: Math.min(this.o.pollWaitMs, interval) };
    return { waitMs: Math.min(this.o.pollWaitMs, Math.ceil(untilDue)) };
  }

  private async call<T>(path: string, body: unknown): Promise<T> {
    this.counters.requests++;
    if (TRACE && this.runnerId === TRACE.id) process.stderr.write(`[trace] -> ${path} ${(performance.now() - TRACE.t0).toFixed(0)}\n`);
    const res = await this.dispatcher.request({
      origin: this.cpUrl,
      path,
      method: 'POST',
      headers: { authorization: `Bearer ${await this.minter.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      // The real runner's pipelining (control-plane-client.ts): the poll parks without blocking the
      // socket, and every call (the poll too) may go out behind another.
      ...(this.o.healthOnPoll ? { idempotent: true, blocking: false } : {}),
    });
    const text = await res.body.text();
    if (TRACE && this.runnerId === TRACE.id)
      process.stderr.write(`[trace] ${path} ${res.statusCode} ${(performance.now() - TRACE.t0).toFixed(0)}\n`);
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }

  /** A method, not the field: the loops read it after awaits. */
  private stopped(): boolean {
    return !this.running;
  }

  start(): void {
    void this.pollLoop();
    if (this.o.healthIntervalMs > 0 && !this.o.healthOnPoll) void this.healthTick();
  }

  private async pollLoop(): Promise<void> {
    let first = true;
    while (this.running) {
      const sent = performance.now();
      const carried = this.carried(sent);
      // The first poll waits the full pollWaitMs, so the burst is measured while every first poll is parked.
      const waitMs = first ? this.o.pollWaitMs : carried.waitMs;
      try {
        const answer = await this.call<DequeueResponse>(
          RUNNER_API.dequeue,
          carried.health ? { max: 10, waitMs, health: carried.health } : { max: 10, waitMs },
        );
        const at = performance.now();
        // Due again one interval after it was sent (the control plane records it on arrival).
        if (carried.health) this.lastHealthAt = sent;
        if (first && answer.tasks.length === 0) this.firstPollLateMs = at - sent - waitMs;
        first = false;
        for (const t of answer.tasks) {
          this.onDelivered(t.taskId, at);
          // What the real runner does with a lease: heartbeat it, then publish the result; with
          // health on the poll both go out behind the next (parked) poll, as the real runner's do.
          const reported = this.report(t.taskId, t.leaseToken);
          if (!this.o.healthOnPoll) await reported;
        }
      } catch (error) {
        if (this.stopped()) return;
        this.counters.errors++;
        this.counters.lastError = String(error);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async report(taskId: string, leaseToken: string): Promise<void> {
    const t0 = performance.now();
    try {
      await this.call(RUNNER_API.heartbeat, { leases: [{ taskId, leaseToken }] });
      await this.call(RUNNER_API.result(taskId), { leaseToken, outcome: { kind: 'succeeded', output: {}, attempts: 1, durationMs: 0 } });
      this.counters.reportMs.push(performance.now() - t0);
    } catch (error) {
      if (this.stopped()) return;
      this.counters.errors++;
      this.counters.lastError = String(error);
    } finally {
      this.counters.reportsDone++;
    }
  }

  private async healthTick(): Promise<void> {
    if (this.stopped()) return;
    try {
      await this.call(RUNNER_API.health, HEALTH);
    } catch (error) {
      if (this.stopped()) return;
      this.counters.errors++;
      this.counters.lastError = String(error);
    }
    if (!this.stopped()) this.healthTimer = setTimeout(() => void this.healthTick(), this.o.healthIntervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.healthTimer);
    await this.dispatcher.destroy().catch(() => undefined);
  }
}

export async function runFleet(opts: FleetOptions): Promise<FleetFigures> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const n = opts.runners;
  const o = {
    sockets: opts.sockets ?? 1,
    pollWaitMs: opts.pollWaitMs ?? 20_000,
    healthIntervalMs: opts.healthIntervalMs ?? 5_000,
    healthOnPoll: opts.healthOnPoll ?? true,
  };
  const idleMs = opts.idleMs ?? 10_000;
  const wakeTasks = opts.wakeTasks ?? 200;
  const wakeRate = opts.wakeRate ?? 20;
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  const counters: Counters = { requests: 0, errors: 0, reportMs: [], reportsDone: 0 };
  const fleet: FleetRunner[] = [];
  let redis: PrivateRedis | undefined;
  let cp: ParProcess | undefined;
  try {
    redis = await withTimeout('start redis', 30_000, startPrivateRedis());
    const port = await freePort();
    const cpUrl = `http://127.0.0.1:${port}`;
    cp = startPar(
      'control-plane',
      ['control-plane'],
      controlPlaneEnv(
        port,
        `fleet${randomBytes(3).toString('hex')}`,
        keys,
        {
          PAR_LOG_LEVEL: opts.cpLogLevel ?? 'info',
          ...opts.cpEnv,
        },
        redis.url,
      ),
    );
    const cpProc = cp.proc;
    const killers = [{ killNow: () => cpProc.kill('SIGKILL') }, { killNow: () => redis?.killNow() }];
    for (const k of killers) live.add(k);
    await waitForHttpOk(`${cpUrl}/healthz`, 30_000, cp);
    const cpPid = cp.proc.pid!;
    if (opts.nice !== undefined) {
      // The main thread of each (its pid); needs root for a negative value.
      setPriority(cpPid, opts.nice);
      setPriority(await redisPid(redis), opts.nice);
      setPriority(opts.nice);
    }
    const api = new ApiClient({ controlPlaneUrl: cpUrl, apiKey: keys.apiKey, appKey: keys.appKey });

    // Enroll: keys made here, one admin-API enrollment per runner.
    const t0 = performance.now();
    const enrolled: { runnerId: string; name: string; minter: RunnerTokenMinter }[] = new Array(n);
    const enrollPool = new Pool(cpUrl, { connections: opts.enrollConcurrency ?? 16 });
    await withTimeout(
      'enroll',
      120_000 + n * 20,
      inLanes(
        Array.from({ length: n }, (_, i) => i),
        opts.enrollConcurrency ?? 16,
        async (i) => {
          const pair = await generateSigningKeyPair();
          const name = `fleet-${i}`;
          const res = await enrollPool.request({
            origin: cpUrl,
            path: RUNNER_API.enroll,
            method: 'POST',
            headers: { 'dd-api-key': keys.apiKey, 'dd-application-key': keys.appKey, 'content-type': 'application/json' },
            body: JSON.stringify({ name, publicKey: publicPart(pair.publicJwk), allowlist: [ACTION], version: 'fleet' }),
          });
          const text = await res.body.text();
          if (res.statusCode !== 201) throw new Error(`enroll ${name}: ${res.statusCode} ${text.slice(0, 300)}`);
          const { runnerId } = JSON.parse(text) as { runnerId: string };
          enrolled[i] = { runnerId, name, minter: new RunnerTokenMinter(runnerId, await importSigningKey(pair.privateJwk)) };
        },
      ),
    );
    await enrollPool.close();
    const enrollSeconds = (performance.now() - t0) / 1000;
    log(`[fleet ${n}] enrolled in ${enrollSeconds.toFixed(1)} s`);

    // Tokens minted before the burst, as long-running runners hold them already.
    await Promise.all(enrolled.map((e) => e.minter.token()));
    const deliveredAt = new Map<string, number>();
    for (const e of enrolled)
      fleet.push(new FleetRunner(cpUrl, e.runnerId, e.minter, o, counters, (taskId, at) => deliveredAt.set(taskId, at)));

    // Burst: every runner starts at once.
    const overflows0 = await listenOverflows();
    const b0 = performance.now();
    if (process.env['FLEET_TRACE']) TRACE = { id: fleet[0]!.runnerId, t0: b0 };
    for (const r of fleet) r.start();
    // Every runner's first poll is parked once the control plane holds N waiters; if it never
    // does before those polls come back (pollWaitMs), the burst was not absorbed: reported as null.
    let peak = 0;
    const burst: { seconds: number | null } = { seconds: null };
    await withTimeout(
      'first-poll burst',
      o.pollWaitMs + 30_000,
      (async () => {
        while (performance.now() - b0 < o.pollWaitMs) {
          peak = Math.max(peak, await waiters(cpUrl).catch(() => 0));
          if (peak >= n) {
            burst.seconds = (performance.now() - b0) / 1000;
            return;
          }
          if (cp.proc.exitCode !== null) throw new Error(`control plane exited:\n${cp.output().slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
    );
    log(
      `[fleet ${n}] ${burst.seconds === null ? `NOT all parked within ${o.pollWaitMs} ms (peak ${peak})` : `all parked in ${burst.seconds.toFixed(2)} s`}`,
    );
    // First answers come back after one wait: collect how late they were.
    await withTimeout(
      'first answers',
      o.pollWaitMs + 60_000,
      (async () => {
        while (fleet.some((r) => r.firstPollLateMs === undefined)) await new Promise((r) => setTimeout(r, 200));
      })(),
    );
    const burstListenOverflows = (await listenOverflows()) - overflows0;
    const lateness = fleet.map((r) => r.firstPollLateMs!).sort((a, b) => a - b);

    // Idle: let one health interval pass, then measure.
    await new Promise((r) => setTimeout(r, 2_000));
    const [cpu0, redis0] = await Promise.all([cpuTicks(cpPid), redisInfo(redis)]);
    const req0 = counters.requests;
    const fleetCpu0 = process.cpuUsage();
    const fleetLoop = monitorEventLoopDelay({ resolution: 10 });
    fleetLoop.enable();
    const i0 = performance.now();
    await new Promise((r) => setTimeout(r, idleMs));
    const [cpu1, redis1] = await Promise.all([cpuTicks(cpPid), redisInfo(redis)]);
    const seconds = (performance.now() - i0) / 1000;
    const fleetCpu = process.cpuUsage(fleetCpu0);
    fleetLoop.disable();
    const cpLoop = await cpLoopDelay(cpUrl);
    const requests = counters.requests - req0;
    const cpCpuSeconds = (cpu1 - cpu0) / 100;
    const { fds, sockets } = await fdCounts(cpPid);
    const cpRss = await rssMb(cpPid);
    const idle = {
      seconds: Number(seconds.toFixed(1)),
      requestsPerSecond: Math.round(requests / seconds),
      cpCpuPercentOfOneCore: Math.round((cpCpuSeconds / seconds) * 100),
      cpCpuMsPerRequest: Number(((cpCpuSeconds * 1000) / Math.max(1, requests)).toFixed(3)),
      redisCpuPercentOfOneCore: Math.round(((redis1.cpuSeconds - redis0.cpuSeconds) / seconds) * 100),
      // INFO itself counts as one command each time.
      redisCommandsPerRequest: Number(((redis1.commands - redis0.commands - 1) / Math.max(1, requests)).toFixed(2)),
      fleetCpuPercentOfOneCore: Math.round(((fleetCpu.user + fleetCpu.system) / 1e6 / seconds) * 100),
      cpLoopDelayP99Ms: cpLoop.p99Ms,
      cpLoopDelayMaxMs: cpLoop.maxMs,
      fleetLoopDelayMaxMs: Math.round(fleetLoop.max / 1e6),
      redisCallsPerRequest: Object.fromEntries(
        [...redis1.byCommand]
          .map(([cmd, calls]) => [cmd, Number(((calls - (redis0.byCommand.get(cmd) ?? 0)) / Math.max(1, requests)).toFixed(2))] as const)
          .filter(([cmd, perRequest]) => perRequest >= 0.01 && cmd !== 'info'),
      ),
    };
    log(`[fleet ${n}] idle: ${JSON.stringify(idle)}; fds ${fds} (sockets ${sockets}), rss ${cpRss} MB`);

    // Wake: tasks to random runners at a modest rate, the runners' request rate sampled throughout.
    const per250Ms: number[] = [];
    let sampledRequests = counters.requests;
    const sampler = setInterval(() => {
      per250Ms.push(counters.requests - sampledRequests);
      sampledRequests = counters.requests;
    }, 250);
    sampler.unref(); // cleared after the phase; never what keeps a failed run alive
    const names = enrolled.map((e) => e.name);
    const submitted = new Map<string, number>();
    let submitErrors = 0;
    await withTimeout(
      'wake',
      Math.ceil(wakeTasks / wakeRate) * 1000 + 60_000,
      (async () => {
        const pending: Promise<void>[] = [];
        for (let i = 0; i < wakeTasks; i++) {
          const runner = names[Math.floor(Math.random() * names.length)]!;
          const at = performance.now();
          pending.push(
            api.submitTask({ runner, action: ACTION, inputs: { verb: 'GET', url: 'http://127.0.0.1:9/x' } }).then(
              (t) => {
                submitted.set(t.id, at);
              },
              (error: unknown) => {
                // Counted, not fatal: a control plane too slow to take a submission is a figure too.
                submitErrors++;
                log(`[fleet ${n}] submit failed: ${String(error)}`);
              },
            ),
          );
          await new Promise((r) => setTimeout(r, 1000 / wakeRate));
        }
        await Promise.all(pending);
        while ([...submitted.keys()].some((id) => !deliveredAt.has(id)) || counters.reportsDone < submitted.size)
          await new Promise((r) => setTimeout(r, 100));
      })(),
    );
    clearInterval(sampler);
    const requestsPer250Ms = {
      min: per250Ms.length > 0 ? Math.min(...per250Ms) : 0,
      mean: per250Ms.length > 0 ? Math.round(per250Ms.reduce((a, b) => a + b, 0) / per250Ms.length) : 0,
      max: per250Ms.length > 0 ? Math.max(...per250Ms) : 0,
    };
    const wakes = [...submitted].map(([id, at]) => deliveredAt.get(id)! - at).sort((a, b) => a - b);
    const wake = {
      tasks: wakeTasks,
      submitErrors,
      delivered: wakes.length,
      p50Ms: Number(percentile(wakes, 50).toFixed(1)),
      p99Ms: Number(percentile(wakes, 99).toFixed(1)),
      maxMs: Number((wakes.at(-1) ?? NaN).toFixed(1)),
    };
    const reports = [...counters.reportMs].sort((a, b) => a - b);
    const report = {
      p50Ms: Number(percentile(reports, 50).toFixed(1)),
      p99Ms: Number(percentile(reports, 99).toFixed(1)),
      maxMs: Number((reports.at(-1) ?? NaN).toFixed(1)),
    };
    log(
      `[fleet ${n}] wake: ${JSON.stringify(wake)}; heartbeat + result: ${JSON.stringify(report)}; runner requests per 250 ms: ${JSON.stringify(requestsPer250Ms)}`,
    );
    if (counters.errors > 0) log(`[fleet ${n}] ${counters.errors} runner call errors; last: ${counters.lastError}`);
    return {
      runners: n,
      sockets: o.sockets,
      pollWaitMs: o.pollWaitMs,
      healthIntervalMs: o.healthIntervalMs,
      healthOnPoll: o.healthOnPoll,
      enrollSeconds: Number(enrollSeconds.toFixed(1)),
      burstSeconds: burst.seconds === null ? null : Number(burst.seconds.toFixed(2)),
      burstPeakWaiters: peak,
      burstListenOverflows,
      firstPollsLate: lateness.filter((l) => l > 1000).length,
      firstPollLateP50Ms: Math.round(percentile(lateness, 50)),
      firstPollLateMaxMs: Math.round(lateness.at(-1) ?? NaN),
      idle,
      cpFds: fds,
      cpSockets: sockets,
      cpRssMb: cpRss,
      wake,
      requestsPer250Ms,
      report,
      errors: counters.errors,
      loadAverage: loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
      nice: opts.nice ?? null,
    };
  } finally {
    await Promise.all(fleet.map((r) => r.stop()));
    await cp?.stop('SIGTERM', 10_000);
    await redis?.stop();
    live.clear();
  }
}

function table(rows: readonly FleetFigures[]): string {
  const head =
    '| runners | sockets/runner | health | nice | burst s | late first polls | idle req/s | CP CPU % core | CP ms/req | Redis CPU % | Redis cmd/req | wake p50 ms | wake p99 ms | requests per 250 ms min/mean/max | heartbeat+result p50/p99 ms | CP fds (sockets) | load |';
  const lines = rows.map(
    (r) =>
      `| ${r.runners} | ${r.sockets} | ${r.healthOnPoll ? 'on poll' : 'apart'} | ${r.nice ?? 0} | ${r.burstSeconds ?? `> ${r.pollWaitMs / 1000} (peak ${r.burstPeakWaiters})`} (${r.burstListenOverflows} SYN drops) | ${r.firstPollsLate} (p50 ${r.firstPollLateP50Ms}, max ${r.firstPollLateMaxMs} ms) | ${r.idle.requestsPerSecond} | ${r.idle.cpCpuPercentOfOneCore} | ${r.idle.cpCpuMsPerRequest} | ${r.idle.redisCpuPercentOfOneCore} | ${r.idle.redisCommandsPerRequest} | ${r.wake.p50Ms} | ${r.wake.p99Ms} | ${r.requestsPer250Ms.min} / ${r.requestsPer250Ms.mean} / ${r.requestsPer250Ms.max} | ${r.report.p50Ms} / ${r.report.p99Ms} | ${r.cpFds} (${r.cpSockets}) | ${r.loadAverage} |`,
  );
  return [head, `|${'---|'.repeat(17)}`, ...lines].join('\n');
}

async function main(): Promise<void> {
  const sizes = (process.env['FLEET_RUNNERS'] ?? '1000').split(',').map((s) => Number(s.trim()));
  const env = (name: string): number | undefined => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  const rows: FleetFigures[] = [];
  for (const runners of sizes) {
    const figures = await runFleet({
      runners,
      sockets: env('FLEET_SOCKETS') === 2 ? 2 : 1,
      pollWaitMs: env('FLEET_POLL_WAIT_MS'),
      healthIntervalMs: env('FLEET_HEALTH_INTERVAL_MS'),
      healthOnPoll: process.env['FLEET_HEALTH_ON_POLL'] !== '0',
      idleMs: env('FLEET_IDLE_MS'),
      wakeTasks: env('FLEET_WAKE_TASKS'),
      wakeRate: env('FLEET_WAKE_RATE'),
      enrollConcurrency: env('FLEET_ENROLL_CONCURRENCY'),
      cpLogLevel: process.env['FLEET_CP_LOG_LEVEL'],
      nice: env('FLEET_NICE'),
    });
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    rows.push(figures);
  }
  process.stdout.write(`${table(rows)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const p of live) p.killNow();
      process.exit(130);
    });
  }
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
