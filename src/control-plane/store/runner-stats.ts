/**
 * Per-minute result aggregates per runner, for the runner page's charts: `runner:<id>:stats:<minute>`
 * hashes (minute = epoch ms / 60 000), written by the result and sweep Lua scripts in the same step
 * that makes a task final (so a result is counted once), expiring after 2 h. Fields: `n:<outcome>`
 * (results by outcome: the outcome kinds, plus `expired` for leases that ran out of deliveries) and
 * `l:<i>` (submit -> result latency, fixed bucket i of LATENCY_BOUNDS_MS; i = length: above the last).
 * p50/p99 are estimated from the buckets (linear within a bucket).
 */
import type { Redis } from '../../lib/redis-connection.js';
import type { KeySpace } from './key-space.js';

export const STATS_MINUTE_MS = 60_000;
export const STATS_TTL_MS = 2 * 60 * 60_000;
/** Upper bounds (ms, inclusive) of the latency buckets. */
export const LATENCY_BOUNDS_MS = [
  50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 900_000, 3_600_000,
] as const;
export const STATS_OUTCOMES = ['succeeded', 'failed', 'timedOut', 'cancelled', 'rejected', 'expired'] as const;
export type StatsOutcome = (typeof STATS_OUTCOMES)[number];
/** The windows the stats endpoint serves (all within the 2 h the aggregates are kept). */
export const STATS_WINDOWS = { '15m': 15, '1h': 60, '2h': 120 } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

export function statsKey(ks: KeySpace, runnerId: string, minute: number): string {
  return `${ks.runner(runnerId)}:stats:${minute}`;
}

export interface StatsPoint {
  /** Start of the minute (epoch ms). */
  at: number;
  counts: Record<StatsOutcome, number>;
  total: number;
  /** Estimated submit -> result percentiles of the minute's reported results (null: none). */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface RunnerStats {
  window: StatsWindow;
  bucketMs: number;
  from: number;
  to: number;
  outcomes: readonly StatsOutcome[];
  points: StatsPoint[];
  totals: Omit<StatsPoint, 'at'>;
}

function emptyCounts(): Record<StatsOutcome, number> {
  return Object.fromEntries(STATS_OUTCOMES.map((o) => [o, 0])) as Record<StatsOutcome, number>;
}

/** The q-quantile (0..1) of a bucketed histogram (counts per LATENCY_BOUNDS_MS bucket + overflow), or null. */
export function bucketQuantile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let before = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (n > 0 && before + n >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS_MS[i - 1] ?? 0);
      const upper = LATENCY_BOUNDS_MS[i] ?? LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] ?? 0;
      return Math.round(lower + ((upper - lower) * Math.max(0, rank - before)) / n);
    }
    before += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] ?? null;
}

function summarize(counts: Record<StatsOutcome, number>, buckets: number[]): Omit<StatsPoint, 'at'> {
  return {
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    p50Ms: bucketQuantile(buckets, 0.5),
    p99Ms: bucketQuantile(buckets, 0.99),
  };
}

/** One pipeline of HGETALLs, one per minute of the window (oldest first, the current minute last). */
export async function readRunnerStats(
  redis: Redis,
  ks: KeySpace,
  runnerId: string,
  window: StatsWindow,
  now: number,
): Promise<RunnerStats> {
  const minutes = STATS_WINDOWS[window];
  const last = Math.floor(now / STATS_MINUTE_MS);
  const first = last - minutes + 1;
  const pipeline = redis.pipeline();
  for (let m = first; m <= last; m++) pipeline.hgetall(statsKey(ks, runnerId, m));
  const replies = (await pipeline.exec()) ?? [];
  const allCounts = emptyCounts();
  const allBuckets: number[] = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  const points: StatsPoint[] = replies.map(([error, raw], i) => {
    if (error) throw error;
    const hash = (raw ?? {}) as Record<string, string>;
    const counts = emptyCounts();
    const buckets: number[] = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    for (const [field, value] of Object.entries(hash)) {
      const n = Number(value);
      if (!Number.isFinite(n)) continue;
      if (field.startsWith('n:')) {
        const outcome = field.slice(2) as StatsOutcome;
        if (outcome in counts) {
          counts[outcome] += n;
          allCounts[outcome] += n;
        }
      } else if (field.startsWith('l:')) {
        const b = Number(field.slice(2));
        if (Number.isInteger(b) && b >= 0 && b < buckets.length) {
          buckets[b] = (buckets[b] ?? 0) + n;
          allBuckets[b] = (allBuckets[b] ?? 0) + n;
        }
      }
    }
    return { at: (first + i) * STATS_MINUTE_MS, ...summarize(counts, buckets) };
  });
  return {
    window,
    bucketMs: STATS_MINUTE_MS,
    from: first * STATS_MINUTE_MS,
    to: (last + 1) * STATS_MINUTE_MS,
    outcomes: STATS_OUTCOMES,
    points,
    totals: summarize(allCounts, allBuckets),
  };
}
