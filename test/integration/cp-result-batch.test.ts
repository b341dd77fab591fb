/**
 * The batch result route (`POST /api/v1/runner/tasks/results`) against a real Redis: one request,
 * one Lua call, one answer per item with the single route's meaning (recorded, duplicate, stale
 * with PAR_ERR_LEASE_STALE, not_found for unknown, malformed or another runner's tasks), each task
 * recorded exactly once with its history, runner stats and metrics counted per item.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PUBLISH_BATCH_MAX, RUNNER_API, publishBatchResponseSchema } from '../../src/contracts/runner-api.js';
import { getTaskEvents } from '../../src/control-plane/store/task-events.js';
import { STATS_MINUTE_MS, statsKey } from '../../src/control-plane/store/runner-stats.js';
import { parsePrometheus, sampleSum } from '../helpers/prometheus.js';
import { startHarness, succeeded, type Harness, type TestRunner } from './control-plane-harness.js';

let h: Harness;
let runner: TestRunner;
let other: TestRunner;

before(async () => {
  h = await startHarness('result-batch');
  runner = await h.enroll();
  other = await h.enroll();
});

after(async () => {
  await h.close();
});

async function resultEvents(taskId: string): Promise<string[]> {
  return (await getTaskEvents(h.redis, h.deps.ks, taskId)).map((e) => e.type).filter((t) => t.startsWith('result.'));
}

async function leased(owner: TestRunner, count: number): Promise<Map<string, string>> {
  for (let i = 0; i < count; i++) await h.submit(owner);
  const deliveries = await h.dequeue(owner, { max: count, waitMs: 0 });
  assert.equal(deliveries.length, count);
  return new Map(deliveries.map((d) => [d.taskId, d.leaseToken]));
}

test('a mixed batch: recorded, duplicate, stale, another runner task, unknown and malformed ids; each recorded once', async () => {
  const mine = [...(await leased(runner, 3)).entries()];
  const [[done, doneToken], [fresh, freshToken], [moved]] = mine as [[string, string], [string, string], [string, string]];
  const [[theirs, theirToken]] = [...(await leased(other, 1)).entries()] as [[string, string]];
  assert.deepEqual((await h.publish(runner, done, doneToken)).body, { status: 'recorded' }, 'recorded before, by the single route');
  const before = parsePrometheus(await h.deps.metrics.registry.metrics());
  const stats = statsKey(h.deps.ks, runner.runnerId, Math.floor(h.now() / STATS_MINUTE_MS));
  const statsBefore = Number((await h.redis.hget(stats, 'n:succeeded')) ?? 0);

  const res = await h.request('POST', RUNNER_API.results, {
    headers: await runner.headers(),
    body: {
      results: [
        { taskId: done, leaseToken: doneToken, outcome: succeeded({ again: true }) },
        { taskId: fresh, leaseToken: freshToken, outcome: succeeded({ n: 1 }) },
        { taskId: fresh, leaseToken: freshToken, outcome: succeeded({ n: 2 }) },
        { taskId: moved, leaseToken: 'not-the-token', outcome: succeeded() },
        { taskId: theirs, leaseToken: theirToken, outcome: succeeded({ hijack: true }) },
        { taskId: 'tsk_does_not_exist', leaseToken: 'x', outcome: succeeded() },
        { taskId: '../etc', leaseToken: 'x', outcome: succeeded() },
      ],
    },
  });
  assert.equal(res.statusCode, 200, JSON.stringify(res.body));
  assert.deepEqual(publishBatchResponseSchema.parse(res.body).results, [
    { taskId: done, status: 'duplicate' },
    { taskId: fresh, status: 'recorded' },
    { taskId: fresh, status: 'duplicate' },
    { taskId: moved, status: 'stale', code: 'PAR_ERR_LEASE_STALE' },
    { taskId: theirs, status: 'not_found', code: 'PAR_ERR_NOT_FOUND' },
    { taskId: 'tsk_does_not_exist', status: 'not_found', code: 'PAR_ERR_NOT_FOUND' },
    { taskId: '../etc', status: 'not_found', code: 'PAR_ERR_NOT_FOUND' },
  ]);

  const first = await h.getTask(fresh);
  assert.equal(first.state, 'succeeded');
  assert.deepEqual(first.outcome?.output, { n: 1 }, 'the first result of the batch is the one kept');
  assert.deepEqual((await h.getTask(done)).outcome?.output, { ok: true }, 'an earlier result is never overwritten');
  assert.equal((await h.getTask(moved)).state, 'leased', 'a stale token records nothing');
  const hijacked = await h.getTask(theirs);
  assert.equal(hijacked.state, 'leased', "another runner's task is left alone");

  assert.deepEqual(await resultEvents(done), ['result.recorded', 'result.duplicate']);
  assert.deepEqual(await resultEvents(fresh), ['result.recorded', 'result.duplicate']);
  assert.deepEqual(await resultEvents(moved), ['result.stale']);
  assert.deepEqual(await resultEvents(theirs), [], 'nothing written to a task of another runner');
  // The task is still its own runner's to finish.
  assert.deepEqual((await h.publish(other, theirs, theirToken)).body, { status: 'recorded' });

  const after = parsePrometheus(await h.deps.metrics.registry.metrics());
  const delta = (name: string, labels: Record<string, string> = {}): number =>
    sampleSum(after, name, labels) - sampleSum(before, name, labels);
  assert.equal(delta('par_cp_result_reports_total', { status: 'recorded' }), 2, 'the batch item, then the single publish');
  assert.equal(delta('par_cp_result_reports_total', { status: 'duplicate' }), 2);
  assert.equal(delta('par_cp_result_reports_total', { status: 'stale' }), 1);
  assert.equal(delta('par_cp_result_reports_total', { status: 'not_found' }), 3);
  assert.equal(delta('par_cp_task_results_total', { outcome: 'succeeded', code: '' }), 2);
  assert.equal(delta('par_cp_submit_to_result_seconds_count'), 2);
  assert.equal(delta('par_cp_result_batch_size_count'), 1, 'one batch request');
  assert.equal(delta('par_cp_result_batch_size_sum'), 7);
  assert.equal(Number(await h.redis.hget(stats, 'n:succeeded')) - statsBefore, 1, "one result in the runner's stats");
});

test('a full batch is recorded in one request; an oversized or empty batch and a missing token are refused whole', async () => {
  const leases = await leased(runner, PUBLISH_BATCH_MAX);
  const items = [...leases.entries()].map(([taskId, leaseToken]) => ({ taskId, leaseToken, outcome: succeeded({ taskId }) }));
  const tooMany = await h.request('POST', RUNNER_API.results, {
    headers: await runner.headers(),
    body: { results: [...items, { ...items[0]!, taskId: 'one-more' }] },
  });
  assert.equal(tooMany.statusCode, 400);
  assert.equal((tooMany.body as { code: string }).code, 'PAR_ERR_REQUEST_INVALID');
  const empty = await h.request('POST', RUNNER_API.results, { headers: await runner.headers(), body: { results: [] } });
  assert.equal(empty.statusCode, 400);
  const anonymous = await h.request('POST', RUNNER_API.results, { body: { results: items } });
  assert.equal(anonymous.statusCode, 401);
  for (const taskId of leases.keys()) assert.equal((await h.getTask(taskId)).state, 'leased', 'nothing recorded by a refused batch');

  const res = await h.request('POST', RUNNER_API.results, { headers: await runner.headers(), body: { results: items } });
  assert.equal(res.statusCode, 200, JSON.stringify(res.body));
  const answers = publishBatchResponseSchema.parse(res.body).results;
  assert.deepEqual(
    answers.map((a) => a.taskId),
    items.map((i) => i.taskId),
    'answers in order',
  );
  assert.ok(answers.every((a) => a.status === 'recorded'));
  for (const taskId of leases.keys()) {
    const task = await h.getTask(taskId);
    assert.equal(task.state, 'succeeded');
    assert.deepEqual(task.outcome?.output, { taskId });
    assert.deepEqual(await resultEvents(taskId), ['result.recorded']);
  }
  const left = await Promise.all([...leases.keys()].map((taskId) => h.redis.zscore(h.deps.ks.leases, taskId)));
  assert.ok(
    left.every((score) => score === null),
    'no lease left for the sweeper',
  );
});
