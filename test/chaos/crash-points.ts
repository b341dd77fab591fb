/**
 * The runner's crash points the chaos suite kills it at, one scenario each: every gap between two
 * writes of the intake path (leases hash -> BullMQ jobs) and of the publish path (POST result ->
 * lease removal -> outbox job completion). The runner dies at a point when started with
 * `PAR_TEST_CRASH_AT=<point>` (a test-only hook in src/runner). If a runner never dies at a point,
 * the scenario reports the hook as NOT AVAILABLE and the run fails: no point is skipped silently.
 * The names here and the hook's must match; change both together.
 */
export const CRASH_POINT_ENV = 'PAR_TEST_CRASH_AT';

export const CRASH_POINTS = [
  /** Intake: the leases are recorded, the jobs are not queued yet. */
  'intake.after-leases',
  /** Intake: the jobs are queued, the poll loop has not gone on yet. */
  'intake.after-enqueue',
  /** Publish: the result job is taken, nothing was sent yet. */
  'publish.before-post',
  /** Publish: the control plane recorded the result, the lease is still in the leases hash. */
  'publish.after-post',
  /** Publish: the lease is removed, the outbox job is not completed yet. */
  'publish.after-lease-removed',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];
