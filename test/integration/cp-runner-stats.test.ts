/**
 * The runner stats behind the page's charts: the result and sweep scripts count each final result
 * once in its minute (by outcome, with the submit -> result latency bucket), the endpoint reads a
 * window of minutes with p50/p99, and the lease sweeper's expiries reach both the stats
 * (`expired`) and the control plane's Prometheus counters. The clock is the harness's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_API } from '../../src/contracts/admin-api.js';
import { startLeaseSweeper } from '../../src/control-plane/lease-sweeper.js';
import {
  LATENCY_BOUNDS_MS,
  STATS_MINUTE_MS,
  STATS_TTL_MS,
  bucketQuantile,
  statsKey,
  type RunnerStats,
} from '../../src/control-plane/store/runner-stats.js';
import { parsePrometheus, sampleSum } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';
import { startHarness } from './control-plane-harness.js';

test('bucket quantiles interpolate inside the bucket that holds the rank', () => {
  const buckets = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  assert.equal(bucketQuantile(buckets, 0.5), null);
  buckets[5] = 10; // (1000, 2500] ms
  assert.equal(bucketQuantile(buckets, 0.5), 1750);
  assert.equal(bucketQuantile(buckets, 1), 2500);
  buckets[0] = 90; // [0, 50] ms
  assert.equal(bucketQuantile(buckets, 0.5), 28);
  assert.ok((bucketQuantile(buckets, 0.99) ?? 0) > 1000);
  buckets[LATENCY_BOUNDS_MS.length] = 1000; // above the last bound: reported as the last bound
  assert.equal(bucketQuantile(buckets, 0.99), LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]);
});

test('results are counted once per minute by outcome with p50/p99; expired leases count as expired', async () => {
  const LEASE_MS = 1_000;
  const h = await startHarness('stats', { leaseMs: LEASE_MS, maxDeliveries: 1, leaseSweepIntervalMs: 50 });
  try {
    const runner = await h.enroll();
    const stats = async (window = '15m'): Promise<RunnerStats> => {
      const res = await h.request('GET', `${ADMIN_API.runner(runner.runnerId)}/stats?window=${window}`, { headers: h.appHeaders() });
      assert.equal(res.statusCode, 200, JSON.stringify(res.body));
      return res.body as RunnerStats;
    };
    const empty = await stats();
    assert.equal(empty.points.length, 15);
    assert.equal(empty.totals.total, 0);
    assert.equal(empty.totals.p50Ms, null);

    const a = await h.submit(runner);
    const b = await h.submit(runner);
    const delivered = await h.dequeue(runner, { max: 2, waitMs: 0 });
    assert.equal(delivered.length, 2);
    h.advance(3_000); // both results 3 s after submission: bucket (2500, 5000]
    const firstMinute = Math.floor(h.now() / STATS_MINUTE_MS);
    const leaseOf = (id: string): string => delivered.find((d) => d.taskId === id)!.leaseToken;
    assert.deepEqual((await h.publish(runner, a.id, leaseOf(a.id))).body, { status: 'recorded' });
    const failed = {
      kind: 'failed' as const,
      error: { code: 'PAR_ERR_HTTP_STATUS' as const, message: 'x', retryable: false },
      attempts: 1,
      durationMs: 5,
    };
    assert.deepEqual((await h.publish(runner, b.id, leaseOf(b.id), failed)).body, { status: 'recorded' });
    assert.deepEqual((await h.publish(runner, a.id, leaseOf(a.id))).body, { status: 'duplicate' }, 'a duplicate is not counted again');

    const ttl = await h.redis.pttl(statsKey(h.deps.ks, runner.runnerId, firstMinute));
    assert.ok(ttl > STATS_TTL_MS - 60_000 && ttl <= STATS_TTL_MS, `stats expire after ~2 h (pttl ${ttl})`);

    // A task whose only delivery's lease lapses: the real sweeper fails it (maxDeliveries 1).
    h.advance(STATS_MINUTE_MS);
    const c = await h.submit(runner);
    assert.equal((await h.dequeue(runner, { max: 1, waitMs: 0 }))[0]?.taskId, c.id);
    h.advance(LEASE_MS + 1);
    const sweeper = startLeaseSweeper(h.deps);
    try {
      await waitUntil(async () => ((await h.getTask(c.id)).state === 'failed' ? true : undefined), 10_000, 'the sweeper to fail the task');
    } finally {
      await sweeper.stop();
    }

    const s = await stats();
    assert.deepEqual(s.totals.counts, { succeeded: 1, failed: 1, timedOut: 0, cancelled: 0, rejected: 0, expired: 1 });
    const byMinute = new Map(s.points.map((p) => [p.at / STATS_MINUTE_MS, p]));
    const first = byMinute.get(firstMinute);
    assert.equal(first?.total, 2);
    assert.ok(first.p50Ms !== null && first.p50Ms > 2_500 && first.p50Ms <= 5_000, `p50 ${first.p50Ms}`);
    assert.ok(first.p99Ms !== null && first.p99Ms >= first.p50Ms && first.p99Ms <= 5_000, `p99 ${first.p99Ms}`);
    const expiredMinute = s.points.find((p) => p.counts.expired === 1);
    assert.ok(expiredMinute && expiredMinute.at > first.at && expiredMinute.p50Ms === null, 'an expiry carries no latency');
    assert.equal(s.points.at(-1)!.at, Math.floor(h.now() / STATS_MINUTE_MS) * STATS_MINUTE_MS, 'the current minute is the last point');

    const metrics = parsePrometheus(await h.deps.metrics.registry.metrics());
    assert.equal(sampleSum(metrics, 'par_cp_task_results_total', { outcome: 'succeeded', code: '' }), 1);
    assert.equal(sampleSum(metrics, 'par_cp_task_results_total', { outcome: 'failed', code: 'PAR_ERR_HTTP_STATUS' }), 1);
    assert.equal(sampleSum(metrics, 'par_cp_task_results_total', { outcome: 'failed', code: 'PAR_ERR_LEASE_EXPIRED' }), 1);
    assert.equal(sampleSum(metrics, 'par_cp_lease_expiries_total', { result: 'failed' }), 1);
    assert.equal(sampleSum(metrics, 'par_cp_result_reports_total', { status: 'duplicate' }), 1);
    assert.equal(sampleSum(metrics, 'par_cp_submit_to_result_seconds_count'), 2);
    assert.equal(sampleSum(metrics, 'par_cp_submit_to_result_seconds_bucket', { le: '5' }), 2);
    assert.equal(sampleSum(metrics, 'par_cp_submit_to_result_seconds_bucket', { le: '2.5' }), 0);
    assert.equal(sampleSum(metrics, 'par_cp_tasks_submitted_total'), 3);
    assert.equal(sampleSum(metrics, 'par_cp_tasks_delivered_total'), 3);
  } finally {
    await h.close();
  }
});

test('a delivery after a lease expiry counts as a redelivery; the requeue as an expiry', async () => {
  const LEASE_MS = 1_000;
  const h = await startHarness('stats-redelivery', { leaseMs: LEASE_MS, maxDeliveries: 3, leaseSweepIntervalMs: 50 });
  try {
    const runner = await h.enroll();
    const task = await h.submit(runner);
    assert.equal((await h.dequeue(runner, { max: 1, waitMs: 0 }))[0]?.attempt, 1);
    h.advance(LEASE_MS + 1);
    const sweeper = startLeaseSweeper(h.deps);
    try {
      await waitUntil(
        async () => ((await h.getTask(task.id)).state === 'queued' ? true : undefined),
        10_000,
        'the sweeper to requeue the task',
      );
    } finally {
      await sweeper.stop();
    }
    assert.equal((await h.dequeue(runner, { max: 1, waitMs: 0 }))[0]?.attempt, 2);
    const metrics = parsePrometheus(await h.deps.metrics.registry.metrics());
    assert.equal(sampleSum(metrics, 'par_cp_tasks_delivered_total'), 2);
    assert.equal(sampleSum(metrics, 'par_cp_task_redeliveries_total'), 1);
    assert.equal(sampleSum(metrics, 'par_cp_lease_expiries_total', { result: 'requeued' }), 1);
    assert.equal(sampleSum(metrics, 'par_cp_task_results_total'), 0, 'a requeue is not a result');
  } finally {
    await h.close();
  }
});
