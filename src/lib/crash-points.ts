/**
 * Named crash points for the reliability tests (issue 8): a process started with
 * `PAR_TEST_CRASH_AT=<point>` exits with status 137 (as if SIGKILLed) the first time it reaches
 * that point, between two writes of the intake, publish or worker path. Tests use it to prove that
 * a crash between any pair of writes still records every task exactly once. FOR TESTS ONLY: unset
 * in production, where each check is one comparison with `undefined`.
 *
 * The points, in the order a task passes them:
 *  - `intake.after-leases`: the leases hash is written, the `tasks` / `results` jobs are not;
 *  - `intake.after-jobs`: the jobs are queued, the poll loop has not polled again;
 *  - `worker.after-result`: the outcome is on `results`, the `tasks` job is still active;
 *  - `publish.before-publish`: the result job is active, nothing is sent yet;
 *  - `publish.after-publish`: the control plane recorded the result, the lease is still in the hash;
 *  - `publish.after-lease-removed`: the lease is removed, the result job is still active.
 */
export const CRASH_POINTS = [
  'intake.after-leases',
  'intake.after-jobs',
  'worker.after-result',
  'publish.before-publish',
  'publish.after-publish',
  'publish.after-lease-removed',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Status a crash point exits with: the same as a SIGKILLed process (128 + 9). */
export const CRASH_EXIT_CODE = 137;

export type CrashHook = (point: CrashPoint) => void;

/** A hook that kills the process at `target` (and does nothing anywhere else, or when unset). */
export function crashHook(target: CrashPoint | undefined, exit: (code: number) => never = (code) => process.exit(code)): CrashHook {
  if (target === undefined) return () => undefined;
  return (point) => {
    if (point === target) exit(CRASH_EXIT_CODE);
  };
}
