/**
 * The runner's registry on real BullMQ queues: queue depths and the outbox are read at scrape time
 * (getJobCounts), and a scrape while Redis does not answer returns within the scrape deadline with
 * the outbox depth unknown (NaN, not 0) and the failure counted. The dashboard masks are checked
 * on job data shaped as the runner writes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RESULTS_QUEUE, TASKS_QUEUE } from '../../src/contracts/jobs.js';
import { MASKED, maskResultJobData, maskTaskJobData } from '../../src/runner/dashboard-masks.js';
import { SCRAPE_REDIS_TIMEOUT_MS, createRunnerMetrics } from '../../src/runner/metrics.js';
import { parsePrometheus, sampleSum } from '../helpers/prometheus.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';

test('queue depths and outbox depth come from BullMQ at scrape time', async () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('runner-metrics');
  const connection = new Redis(redis.options);
  const tasks = new Queue(TASKS_QUEUE, { connection, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection, prefix });
  try {
    const metrics = createRunnerMetrics({ queues: [tasks, results], outbox: results, defaultMetrics: false });
    await tasks.addBulk([
      { name: 'task', data: { taskId: 'a' } },
      { name: 'task', data: { taskId: 'b' } },
    ]);
    await results.add('result', { taskId: 'c' }, { delay: 60_000 });
    const samples = parsePrometheus(await metrics.registry.metrics());
    assert.equal(sampleSum(samples, 'par_runner_queue_jobs', { queue: 'tasks', state: 'waiting' }), 2);
    assert.equal(sampleSum(samples, 'par_runner_queue_jobs', { queue: 'results', state: 'delayed' }), 1);
    assert.equal(sampleSum(samples, 'par_runner_outbox_depth'), 1);
    assert.equal(sampleSum(samples, 'par_runner_metrics_redis_errors_total'), 0);
    metrics.deliveries.inc(3);
    assert.equal(sampleSum(parsePrometheus(await metrics.registry.metrics()), 'par_runner_deliveries_total'), 3);
    assert.equal(
      sampleSum(parsePrometheus(await createRunnerMetrics({ defaultMetrics: false }).registry.metrics()), 'par_runner_deliveries_total'),
      0,
      'registries are not shared',
    );
  } finally {
    await Promise.all([tasks.close(), results.close()]);
    connection.disconnect();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

test('a scrape while Redis does not answer returns in time: outbox depth NaN, failure counted', async () => {
  // Nothing listens on port 1: ioredis keeps the commands queued, as during a Redis outage.
  const connection = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: () => 200 });
  connection.on('error', () => undefined);
  const results = new Queue(RESULTS_QUEUE, { connection, prefix: uniquePrefix('runner-metrics-down') });
  results.on('error', () => undefined);
  try {
    const metrics = createRunnerMetrics({ queues: [results], outbox: results, defaultMetrics: false });
    const started = Date.now();
    const samples = parsePrometheus(await metrics.registry.metrics());
    assert.ok(Date.now() - started < SCRAPE_REDIS_TIMEOUT_MS * 3, `scrape took ${Date.now() - started} ms`);
    assert.ok(Number.isNaN(sampleSum(samples, 'par_runner_outbox_depth')));
    assert.equal(samples.filter((s) => s.name === 'par_runner_queue_jobs').length, 0);
    // Both gauges failed; the counter, collected alongside them, shows it from the next scrape on.
    const next = parsePrometheus(await metrics.registry.metrics());
    assert.ok(sampleSum(next, 'par_runner_metrics_redis_errors_total') >= 2);
  } finally {
    connection.disconnect();
    await results.close().catch(() => undefined);
  }
});

test('dashboard masks keep ids, action and outcome kind, and drop task payloads, outputs and messages', () => {
  const task = maskTaskJobData({
    taskId: 't1',
    payload: JSON.stringify({
      taskId: 't1',
      task: {
        taskId: 't1',
        action: 'com.datadoghq.http.request',
        inputs: { password: 'hunter2' },
        connection: { id: 'c', integration: 'http' },
      },
      deliveryAttempt: 2,
      acceptedAt: 5,
    }),
    tag: 'kid.mac',
  });
  assert.deepEqual(task, {
    taskId: 't1',
    action: 'com.datadoghq.http.request',
    deliveryAttempt: 2,
    acceptedAt: 5,
    payload: MASKED,
  });
  assert.equal(maskTaskJobData({ taskId: 't1', payload: '{not json' })['action'], undefined);
  const result = maskResultJobData({
    taskId: 't1',
    outcome: {
      kind: 'failed',
      output: { secret: 'hunter2' },
      error: { code: 'PAR_ERR_HTTP_STATUS', message: 'body: hunter2', retryable: false },
      attempts: 1,
      durationMs: 9,
    },
  });
  assert.deepEqual(result, {
    taskId: 't1',
    outcome: {
      kind: 'failed',
      output: MASKED,
      error: { code: 'PAR_ERR_HTTP_STATUS', retryable: false, message: MASKED },
      attempts: 1,
      durationMs: 9,
    },
  });
  assert.ok(!JSON.stringify([task, result]).includes('hunter2'));
  assert.deepEqual(maskTaskJobData(null), {
    taskId: undefined,
    action: undefined,
    deliveryAttempt: undefined,
    acceptedAt: undefined,
    payload: MASKED,
  });
});
