/**
 * Running the chaos scenarios and measuring them. A scenario's row is computed only from what the
 * control plane reports (GET /api/v1/tasks/:id and its /events) and from the execution target's
 * per-task counts:
 *
 * - lost: an accepted task the control plane no longer knows, or one reported `succeeded` that
 *   the target never saw run;
 * - stuck: not final when the settle bound expired (`settleMs` after the last fault ended);
 * - recorded twice: more than one `result.recorded` event (exactly-once reporting broken);
 * - executed twice: the target saw the task more than once (allowed: execution is at-least-once);
 * - failed: final `failed` (by code), e.g. the delivery limit after repeated crashes: reported to
 *   the user, not lost;
 * - recovery: the longest time, over the faults, from the broken part being back until every
 *   result that was waiting for it (the task ran before it was back) is recorded, or, when none
 *   was waiting, until the next result is recorded; drain: from the last fault's end to the last
 *   task final.
 */
import { randomBytes } from 'node:crypto';
import { startCluster, type ChaosCluster, type ClusterSettings } from './cluster.js';
import {
  allCrashPoints,
  controlPlaneOutage,
  randomKills,
  redisFault,
  sigtermMidTask,
  type Fault,
  type Scenario,
  type ScenarioContext,
} from './scenarios.js';
import { Workload, type CollectedTask } from './workload.js';

export interface ScenarioRow {
  scenario: string;
  tasks: number;
  faults: number;
  lost: number;
  stuck: number;
  recordedTwice: number;
  executedTwice: number;
  failed: number;
  failedCodes: Record<string, number>;
  recoveryMs?: number;
  drainMs?: number;
  /** The fault could not be injected (a missing test hook): the run fails. */
  notAvailable?: string;
  /** The scenario itself failed (a bound passed, a process did not start): the run fails. */
  error?: string;
  notes: string[];
}

export interface Profile {
  name: string;
  /** One cluster for all scenarios (quicker), or a fresh one per scenario (isolated). */
  shareCluster: boolean;
  settings: ClusterSettings;
  scenarios: Scenario[];
  /** After the last fault, how long tasks get to become final before they count as stuck. */
  settleMs: number;
}

const LOG_LEVEL = { PAR_LOG_LEVEL: 'warn' };

/**
 * The full suite: production defaults for leases, locks and backoffs (the suite measures the
 * real recovery), a fresh cluster per scenario.
 */
export function fullProfile(options: { outageMs?: number; tasks?: number; kills?: number } = {}): Profile {
  const slow: [number, number] = [1_000, 3_000];
  return {
    name: 'full',
    shareCluster: false,
    settleMs: 240_000,
    settings: {
      workers: 3,
      cpEnv: { ...LOG_LEVEL, PAR_LEASE_SWEEP_INTERVAL_MS: '1000' },
      // startSystem shortens the runner's backoffs for tests; the chaos suite runs the defaults.
      runnerEnv: {
        ...LOG_LEVEL,
        PAR_POLL_BACKOFF_MAX_MS: '30000',
        PAR_PUBLISH_BACKOFF_MAX_MS: '30000',
        PAR_ENROLL_BACKOFF_MAX_MS: '30000',
      },
      workerEnv: { ...LOG_LEVEL, PAR_WORKER_CONCURRENCY: '5' },
    },
    scenarios: [
      randomKills({
        tasks: options.tasks ?? 1_000,
        faults: options.kills ?? 30,
        gapMs: [1_000, 3_000],
        taskMs: [300, 1_500],
        boundMs: 900_000,
      }),
      ...allCrashPoints({ tasks: 30, taskMs: [100, 500], crashBoundMs: 30_000 }),
      redisFault('SHUTDOWN', { tasks: 150, taskMs: slow, downMs: 2_000 }),
      redisFault('kill -9', { tasks: 150, taskMs: slow, downMs: 2_000 }),
      controlPlaneOutage({ tasks: 150, taskMs: slow, outageMs: options.outageMs ?? 60_000 }),
      sigtermMidTask('worker', { tasks: 80, taskMs: [1_500, 3_000], exitBoundMs: 60_000 }),
      sigtermMidTask('runner', { tasks: 80, taskMs: [1_500, 3_000], exitBoundMs: 60_000 }),
    ],
  };
}

/**
 * The short suite inside `npm test` (≤ 60 s): short leases and locks so recovery fits, one shared
 * cluster, fewer tasks and faults, a 5 s outage. Crash points are left to `npm run chaos`.
 */
export function shortProfile(): Profile {
  return {
    name: 'short',
    shareCluster: true,
    settleMs: 25_000,
    settings: {
      workers: 3,
      cpEnv: { ...LOG_LEVEL, PAR_LEASE_MS: '4000', PAR_LEASE_SWEEP_INTERVAL_MS: '250' },
      runnerEnv: { ...LOG_LEVEL, PAR_HEARTBEAT_INTERVAL_MS: '1000', PAR_POLL_BACKOFF_MAX_MS: '1000', PAR_PUBLISH_BACKOFF_MAX_MS: '1000' },
      workerEnv: { ...LOG_LEVEL, PAR_WORKER_CONCURRENCY: '5', PAR_WORKER_LOCK_MS: '2000', PAR_WORKER_STALLED_INTERVAL_MS: '1000' },
    },
    scenarios: [
      randomKills({ tasks: 150, faults: 6, gapMs: [300, 1_000], taskMs: [300, 1_500], boundMs: 120_000 }),
      redisFault('kill -9', { tasks: 40, taskMs: [1_000, 3_000], downMs: 1_000 }),
      controlPlaneOutage({ tasks: 40, taskMs: [1_000, 3_000], outageMs: 5_000 }),
      sigtermMidTask('worker', { tasks: 20, taskMs: [1_500, 3_000], exitBoundMs: 15_000 }),
    ],
  };
}

export type Logger = (line: string) => void;

async function runOne(cluster: ChaosCluster, scenario: Scenario, runId: string, settleMs: number, log: Logger): Promise<ScenarioRow> {
  const workload = new Workload(cluster, scenario.id, runId);
  const notes: string[] = [];
  const ctx: ScenarioContext = {
    cluster,
    workload,
    faults: [],
    note: (t) => {
      notes.push(t);
      log(`[${scenario.name}] NOTE ${t}`);
    },
    log: (t) => log(`[${scenario.name}] ${t}`),
  };
  const started = Date.now();
  let error: string | undefined;
  try {
    await scenario.run(ctx);
  } catch (e) {
    error = (e as Error).message;
    log(`[${scenario.name}] FAILED: ${error}`);
  }
  const lastBack = Math.max(started, ...ctx.faults.map((f) => f.backAt));
  const stuckIds = await workload.settle(lastBack + settleMs);
  let tasks: CollectedTask[] = [];
  try {
    tasks = await workload.collect();
  } catch (e) {
    error = error ?? (e as Error).message;
  }
  if (stuckIds.length > 0)
    log(`[${scenario.name}] ${stuckIds.length} task(s) not final at the settle bound, e.g. ${stuckIds.slice(0, 3).join(', ')}`);
  return measure(scenario.name, tasks, ctx.faults, lastBack, {
    notes,
    ...(error ? { error } : {}),
    ...(ctx.notAvailable ? { notAvailable: ctx.notAvailable } : {}),
  });
}

export function measure(
  name: string,
  tasks: CollectedTask[],
  faults: Fault[],
  lastBack: number,
  extra: Pick<ScenarioRow, 'notes' | 'error' | 'notAvailable'>,
): ScenarioRow {
  const failedCodes: Record<string, number> = {};
  let lost = 0;
  let stuck = 0;
  let recordedTwice = 0;
  let executedTwice = 0;
  let failed = 0;
  const recordedAt: number[] = [];
  let lastFinal = 0;
  for (const t of tasks) {
    const recorded = t.events.filter((e) => e.type === 'result.recorded');
    for (const e of recorded) recordedAt.push(e.at);
    if (recorded.length > 1) recordedTwice++;
    if (t.executions > 1) executedTwice++;
    if (!t.view) {
      lost++;
      continue;
    }
    const final = t.view.state === 'succeeded' || t.view.state === 'failed';
    // Not final at the end of the settle bound (and still not when read back).
    if (!final) stuck++;
    if (t.view.state === 'succeeded' && t.executions === 0) lost++;
    if (t.view.state === 'failed') {
      failed++;
      const code = t.view.outcome?.error?.code ?? t.view.outcome?.kind ?? 'unknown';
      failedCodes[code] = (failedCodes[code] ?? 0) + 1;
    }
    if (t.view.finishedAt !== undefined) lastFinal = Math.max(lastFinal, t.view.finishedAt);
  }
  const stuckStates: Record<string, number> = {};
  for (const t of tasks) {
    if (t.view && t.view.state !== 'succeeded' && t.view.state !== 'failed') {
      const k = `${t.view.state}, attempt ${t.view.attempts}, ran ${t.executions}x`;
      stuckStates[k] = (stuckStates[k] ?? 0) + 1;
    }
  }
  if (stuck > 0)
    extra.notes.push(
      `stuck tasks by state: ${Object.entries(stuckStates)
        .map(([k, n]) => `${n} ${k}`)
        .join('; ')}`,
    );
  recordedAt.sort((a, b) => a - b);
  let recoveryMs: number | undefined;
  for (const f of faults) {
    // The results that were waiting for the broken part: run before it was back, recorded after.
    let waited: number | undefined;
    for (const t of tasks) {
      const rec = t.events.find((e) => e.type === 'result.recorded')?.at;
      if (rec !== undefined && t.answeredAt !== undefined && t.answeredAt < f.backAt && rec >= f.backAt)
        waited = Math.max(waited ?? 0, rec - f.backAt);
    }
    // None waited: until the next result at all.
    const next = recordedAt.find((at) => at >= f.backAt);
    const ms = waited ?? (next !== undefined ? next - f.backAt : undefined);
    if (ms !== undefined) recoveryMs = Math.max(recoveryMs ?? 0, ms);
  }
  const row: ScenarioRow = {
    scenario: name,
    tasks: tasks.length,
    faults: faults.length,
    lost,
    stuck,
    recordedTwice,
    executedTwice,
    failed,
    failedCodes,
    notes: extra.notes,
    ...(recoveryMs !== undefined ? { recoveryMs } : {}),
    ...(faults.length > 0 && lastFinal > 0 && stuck === 0 ? { drainMs: Math.max(0, lastFinal - lastBack) } : {}),
    ...(extra.error ? { error: extra.error } : {}),
    ...(extra.notAvailable ? { notAvailable: extra.notAvailable } : {}),
  };
  return row;
}

/** A row fails the run when anything was lost, stuck or recorded twice, or the scenario could not run. */
export function rowFails(row: ScenarioRow): boolean {
  return row.lost > 0 || row.stuck > 0 || row.recordedTwice > 0 || row.error !== undefined || row.notAvailable !== undefined;
}

export async function runProfile(profile: Profile, log: Logger, runId = randomBytes(3).toString('hex')): Promise<ScenarioRow[]> {
  const rows: ScenarioRow[] = [];
  let shared: ChaosCluster | undefined;
  try {
    for (const scenario of profile.scenarios) {
      let cluster: ChaosCluster;
      try {
        cluster = shared ?? (await startCluster(profile.settings));
      } catch (e) {
        rows.push({
          scenario: scenario.name,
          tasks: 0,
          faults: 0,
          lost: 0,
          stuck: 0,
          recordedTwice: 0,
          executedTwice: 0,
          failed: 0,
          failedCodes: {},
          notes: [],
          error: `cluster did not start: ${(e as Error).message.split('\n')[0]}`,
        });
        continue;
      }
      if (profile.shareCluster) shared = cluster;
      log(`[${scenario.name}] start`);
      const t0 = Date.now();
      try {
        rows.push(await runOne(cluster, scenario, runId, profile.settleMs, log));
      } finally {
        if (!profile.shareCluster) await cluster.close();
      }
      log(`[${scenario.name}] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await shared?.close();
  }
  return rows;
}
