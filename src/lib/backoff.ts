/**
 * Jittered exponential backoff, shared by enrollment, polling and result publication. "Equal
 * jitter": half the delay is fixed, half random, so a fleet of runners that lost the control plane
 * at the same moment does not come back in lock-step, yet no retry happens almost immediately.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, before jitter. */
  initialMs: number;
  /** Cap on any single delay, jitter included. */
  maxMs: number;
  /** Growth per attempt (2 = doubling). */
  factor?: number;
}

/** `attempt` counts failures so far, starting at 1. `random` is injectable for tests. */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const factor = policy.factor ?? 2;
  const exponent = Math.max(0, attempt - 1);
  // Math.min before multiplying keeps large attempt counts from overflowing to Infinity.
  const raw = Math.min(policy.maxMs, policy.initialMs * Math.pow(factor, Math.min(exponent, 64)));
  const half = raw / 2;
  return Math.round(Math.min(policy.maxMs, half + random() * half));
}

/** An initial delay that stays below the cap even for tiny caps set in tests. */
export function defaultInitialMs(maxMs: number): number {
  return Math.max(1, Math.min(500, Math.floor(maxMs / 4)));
}
