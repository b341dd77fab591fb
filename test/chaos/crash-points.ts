/**
 * The crash points the chaos suite kills the runner at, one scenario each: every gap between two
 * writes of the intake path (leases hash -> BullMQ jobs) and of the publish path (POST result ->
 * lease removal -> outbox job completion). The names are the runner's own (src/lib/crash-points.ts):
 * a process started with `PAR_TEST_CRASH_AT=<point>` exits with 137 there. If a runner never dies at a
 * point, the scenario reports NOT AVAILABLE and the run fails: no point is skipped silently.
 * `worker.after-result` is a worker's point, so it is not in this runner list.
 */
import { CRASH_POINTS as ALL_POINTS, type CrashPoint as AnyCrashPoint } from '../../src/lib/crash-points.js';

export const CRASH_POINT_ENV = 'PAR_TEST_CRASH_AT';

export type CrashPoint = Exclude<AnyCrashPoint, 'worker.after-result'>;

export const CRASH_POINTS: readonly CrashPoint[] = ALL_POINTS.filter((p): p is CrashPoint => p !== 'worker.after-result');
