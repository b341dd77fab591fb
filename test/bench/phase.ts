/**
 * The bench's building blocks: a phase is a named, bounded step that reads and writes a shared
 * context and adds rows to the printed table. bench.ts runs a list of them in order; each runs
 * under its own deadline and a phase that overruns fails the bench loudly (never a hang).
 */
import type { BenchSystem } from './bench-system.js';

export interface BenchRow {
  metric: string;
  value: string;
  note?: string;
}

export interface BenchContext {
  /** Numbers later phases (and the summary) read, by name: `baseline.jobsPerSecond`, ... */
  figures: Map<string, number>;
  rows: BenchRow[];
  /** The system under test, started by the `system` phase and stopped by bench.ts at the end. */
  system?: BenchSystem;
}

export interface BenchPhase {
  name: string;
  timeoutMs: number;
  run(ctx: BenchContext): Promise<void>;
}

export class PhaseTimeoutError extends Error {
  constructor(phase: string, timeoutMs: number) {
    super(`bench phase "${phase}" did not finish within ${timeoutMs} ms`);
  }
}

/** Runs `work` under a deadline; the timer never keeps the process alive. */
export async function withDeadline<T>(label: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PhaseTimeoutError(label, timeoutMs)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}
