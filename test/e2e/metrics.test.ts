/**
 * Prometheus metrics through real processes (control plane, runner, one worker with its metrics
 * port): http.request tasks to a loopback target succeed and fail, one action is refused by the
 * allowlist, and each process's `/metrics` counters and histograms move by exactly those tasks.
 * The runner stats endpoint (the page's charts) counts the same results. The runner's bull-board
 * JSON shows task ids and action names, never an input value or the signed JWS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { freePort } from '../../src/cli/local-redis.js';
import { ADMIN_API } from '../../src/contracts/admin-api.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { connectRedis } from '../helpers/redis.js';
import { hasSample, sampleSum, scrape, type Sample } from '../helpers/prometheus.js';
import { startSystem, waitForHttpOk, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';

const ACTION = 'com.datadoghq.http.request';
const MARKER = `marker-${randomBytes(8).toString('hex')}`;

describe('metrics on every process', () => {
  let system: System;
  let target: TargetServer;
  let workerMetricsUrl: string;
  let runnerId: string;
  const before0: Record<'cp' | 'runner' | 'worker', Sample[]> = { cp: [], runner: [], worker: [] };
  const taskIds: { ok: string[]; failed: string[]; refused?: string } = { ok: [], failed: [] };
  let failedCode = '';

  const cpMetrics = async (): Promise<Sample[]> => (await scrape(`${system.cpUrl}/metrics`)).samples;
  const runnerMetrics = async (): Promise<Sample[]> => (await scrape(`${system.runnerAdminUrl}/metrics`)).samples;
  const workerMetrics = async (): Promise<Sample[]> => (await scrape(workerMetricsUrl)).samples;
  const delta = (now: Sample[], was: Sample[], name: string, labels: Record<string, string> = {}): number =>
    sampleSum(now, name, labels) - sampleSum(was, name, labels);

  before(async () => {
    target = await startTargetServer();
    target.route('/gone', (_req, res) => {
      res.statusCode = 404;
      res.end('no such page');
    });
    const metricsPort = await freePort();
    system = await startSystem({ workers: 1, workerEnv: { PAR_WORKER_METRICS_PORT: String(metricsPort) } });
    workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    await waitForHttpOk(workerMetricsUrl, 20_000, system.workers[0]);
    runnerId = (await readIdentity(system.configDir))!.runnerId;
    [before0.cp, before0.runner, before0.worker] = await Promise.all([cpMetrics(), runnerMetrics(), workerMetrics()]);

    const submit = (action: string, inputs: Record<string, unknown>) =>
      system.api.submitTask({ runner: system.runnerName, action, inputs, timeoutMs: 10_000 });
    for (let i = 0; i < 3; i++)
      taskIds.ok.push((await submit(ACTION, { verb: 'GET', url: `${target.url}/health`, requestHeaders: { 'x-marker': MARKER } })).id);
    for (let i = 0; i < 2; i++) taskIds.failed.push((await submit(ACTION, { verb: 'GET', url: `${target.url}/gone` })).id);
    taskIds.refused = (await submit('com.datadoghq.script.runPredefinedScript', { scriptName: MARKER })).id;
    for (const id of taskIds.ok) assert.equal((await system.api.waitForTask(id, 30_000)).state, 'succeeded');
    for (const id of taskIds.failed) {
      const done = await system.api.waitForTask(id, 30_000);
      assert.equal(done.state, 'failed');
      failedCode = done.outcome?.error?.code ?? '';
    }
    const refused = await system.api.waitForTask(taskIds.refused, 30_000);
    assert.equal(refused.outcome?.kind, 'rejected');
    assert.equal(failedCode, 'PAR_ERR_HTTP_STATUS');
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  test('control plane: submitted, delivered, results by outcome and code, submit->result histogram, waiters, process metrics', async () => {
    const now = await cpMetrics();
    const was = before0.cp;
    assert.equal(delta(now, was, 'par_cp_tasks_submitted_total', { replayed: 'false' }), 6);
    assert.ok(delta(now, was, 'par_cp_tasks_delivered_total') >= 6);
    assert.equal(delta(now, was, 'par_cp_task_results_total', { outcome: 'succeeded', code: '' }), 3);
    assert.equal(delta(now, was, 'par_cp_task_results_total', { outcome: 'failed', code: failedCode }), 2);
    assert.equal(delta(now, was, 'par_cp_task_results_total', { outcome: 'rejected', code: 'PAR_ERR_ACTION_NOT_ALLOWLISTED' }), 1);
    assert.equal(delta(now, was, 'par_cp_result_reports_total', { status: 'recorded' }), 6);
    assert.equal(delta(now, was, 'par_cp_submit_to_result_seconds_count'), 6);
    assert.ok(delta(now, was, 'par_cp_submit_to_result_seconds_sum') > 0);
    // Cumulative buckets: the +Inf bucket holds all 6.
    assert.equal(delta(now, was, 'par_cp_submit_to_result_seconds_bucket', { le: '+Inf' }), 6);
    assert.ok(hasSample(now, 'par_cp_longpoll_waiters'));
    assert.equal(delta(now, was, 'par_cp_lease_expiries_total'), 0, 'no lease expired on the way');
    assert.equal(delta(now, was, 'par_cp_task_redeliveries_total'), 0);
    assert.ok(hasSample(now, 'par_cp_process_cpu_user_seconds_total'), 'collectDefaultMetrics with the par_cp_ prefix');
  });

  test('runner: deliveries, intake verdicts, publications, queue depths and outbox at scrape time, audit gauges', async () => {
    // The publisher counts a publication after the control plane answered: wait for the last one.
    const now = await waitUntil(
      async () => {
        const s = await runnerMetrics();
        return delta(s, before0.runner, 'par_runner_results_published_total', { status: 'recorded' }) >= 6 ? s : undefined;
      },
      15_000,
      'six recorded publications',
    );
    const was = before0.runner;
    assert.equal(delta(now, was, 'par_runner_results_published_total', { status: 'recorded' }), 6);
    assert.ok(delta(now, was, 'par_runner_deliveries_total') >= 6);
    assert.equal(delta(now, was, 'par_runner_intake_total', { verdict: 'accepted' }), 5);
    assert.equal(delta(now, was, 'par_runner_intake_total', { verdict: 'rejected', code: 'PAR_ERR_ACTION_NOT_ALLOWLISTED' }), 1);
    // The 5 accepted task jobs are kept as completed (3) / failed (2) on the tasks queue.
    assert.equal(sampleSum(now, 'par_runner_queue_jobs', { queue: 'tasks', state: 'completed' }), 3);
    assert.equal(sampleSum(now, 'par_runner_queue_jobs', { queue: 'tasks', state: 'failed' }), 2);
    assert.ok(now.some((s) => s.name === 'par_runner_queue_jobs' && s.labels['queue'] === 'results'));
    assert.equal(sampleSum(now, 'par_runner_outbox_depth'), 0);
    assert.ok(sampleSum(now, 'par_audit_chain_length') > 6, 'the audit gauges, folded into the registry under their old names');
    assert.ok(hasSample(now, 'par_audit_append_failures_total'));
    assert.ok(hasSample(now, 'par_runner_process_resident_memory_bytes'));
  });

  test('worker: outcomes by code, action duration and queue wait histograms on its own port', async () => {
    const now = await workerMetrics();
    const was = before0.worker;
    assert.equal(delta(now, was, 'par_worker_tasks_total', { outcome: 'succeeded', code: '' }), 3);
    assert.equal(delta(now, was, 'par_worker_tasks_total', { outcome: 'failed', code: failedCode }), 2);
    assert.equal(delta(now, was, 'par_worker_action_duration_seconds_count', { bundle: 'com.datadoghq.http', outcome: 'succeeded' }), 3);
    assert.equal(delta(now, was, 'par_worker_action_duration_seconds_count', { bundle: 'com.datadoghq.http', outcome: 'failed' }), 2);
    assert.equal(delta(now, was, 'par_worker_queue_wait_seconds_count'), 5);
    assert.equal(sampleSum(now, 'par_worker_running_tasks'), 0);
    assert.ok(hasSample(now, 'par_worker_nodejs_eventloop_lag_seconds'));
    const other = await request(workerMetricsUrl.replace('/metrics', '/other'));
    assert.equal(other.statusCode, 404);
    await other.body.dump();
  });

  test('runner stats endpoint: results per minute by outcome and p50/p99, for viewers of the runner only', async () => {
    const res = await request(`${system.cpUrl}${ADMIN_API.runner(runnerId)}/stats?window=1h`, {
      headers: { 'dd-application-key': system.keys.appKey },
    });
    const body = (await res.body.json()) as {
      points: Array<{ at: number; total: number }>;
      totals: { counts: Record<string, number>; total: number; p50Ms: number | null; p99Ms: number | null };
    };
    assert.equal(res.statusCode, 200, JSON.stringify(body));
    assert.equal(body.points.length, 60);
    assert.deepEqual(body.totals.counts, { succeeded: 3, failed: 2, timedOut: 0, cancelled: 0, rejected: 1, expired: 0 });
    assert.equal(
      body.points.reduce((a, p) => a + p.total, 0),
      6,
    );
    assert.ok(
      body.totals.p50Ms !== null && body.totals.p50Ms > 0 && body.totals.p99Ms !== null && body.totals.p99Ms >= body.totals.p50Ms,
      JSON.stringify(body.totals),
    );
    const bad = await request(`${system.cpUrl}${ADMIN_API.runner(runnerId)}/stats?window=1d`, {
      headers: { 'dd-application-key': system.keys.appKey },
    });
    assert.equal(bad.statusCode, 400);
    await bad.body.dump();
    // Without a key: refused exactly as reading the runner is.
    const anonymous = await request(`${system.cpUrl}${ADMIN_API.runner(runnerId)}/stats`);
    const runnerAnonymous = await request(`${system.cpUrl}${ADMIN_API.runner(runnerId)}`);
    const [a, b] = [(await anonymous.body.json()) as { code: string }, (await runnerAnonymous.body.json()) as { code: string }];
    assert.ok(anonymous.statusCode >= 401 && anonymous.statusCode <= 403, String(anonymous.statusCode));
    assert.deepEqual([anonymous.statusCode, a.code], [runnerAnonymous.statusCode, b.code]);
  });

  test('bull-board shows task ids and actions, never an input value or the signed JWS', async () => {
    const redis = connectRedis(system.redisUrl);
    let jws: string | null;
    try {
      jws = await redis.hget(`${system.cpPrefix}:task:${taskIds.ok[0]!}`, 'jws');
    } finally {
      redis.disconnect();
    }
    assert.ok(jws && jws.split('.').length === 3, 'the control plane stored the JWS');
    const texts: string[] = [];
    for (const queue of ['tasks', 'results']) {
      const res = await request(`${system.runnerAdminUrl}/queues/api/queues?activeQueue=${queue}&status=latest&page=1&jobsPerPage=50`);
      const text = await res.body.text();
      assert.equal(res.statusCode, 200, text.slice(0, 300));
      texts.push(text);
    }
    const one = await request(`${system.runnerAdminUrl}/queues/api/queues/tasks/${taskIds.ok[0]!}`);
    const oneText = await one.body.text();
    assert.equal(one.statusCode, 200, oneText.slice(0, 300));
    texts.push(oneText);
    const all = texts.join('\n');
    for (const id of [...taskIds.ok, ...taskIds.failed]) assert.ok(all.includes(id), `task ${id} listed`);
    assert.ok(all.includes(ACTION), 'the action FQN is shown');
    assert.ok(all.includes('[masked]'));
    assert.ok(!all.includes(MARKER), 'an input value leaked into the dashboard');
    assert.ok(!all.includes(jws.split('.')[2]!), 'the JWS signature leaked into the dashboard');
    assert.ok(!all.includes(jws.split('.')[1]!.slice(0, 40)), 'the JWS payload leaked into the dashboard');
    assert.ok(!all.includes('"ok":true'), 'a result output leaked into the dashboard');
  });
});
