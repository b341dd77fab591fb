/**
 * "Every lease ends" at the level of the lease keeper, against a real Redis and real BullMQ jobs
 * (the control plane's heartbeat answer is scripted): a lease is heartbeated only while its task
 * has a job that can run or a result in the outbox; a job BullMQ failed for stalling gets a
 * PAR_ERR_WORKER_LOST result; a lease with neither is handed back after two reconciliations, but
 * never while an intake is writing it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { RESULTS_QUEUE, TASKS_QUEUE, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import { createRootLogger } from '../../src/logging/logger.js';
import type { LeaseRef } from '../../src/runner/control-plane-client.js';
import { LeaseKeeper } from '../../src/runner/lease-keeper.js';
import { LeaseReconciler, STALLED_REASON, reportWorkerLost } from '../../src/runner/lease-reconciler.js';
import { LeaseStore } from '../../src/runner/lease-store.js';
import { RESULT_JOB_NAME, TASK_JOB_NAME, resultJobOptions, taskJobOptions } from '../../src/contracts/job-options.js';
import { Allowlist } from '../../src/actions/allowlist.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';
import type { Jwks } from '../../src/contracts/runner-api.js';
import { deriveQueueKey } from '../../src/crypto/task-job-tag.js';
import { TaskIntake } from '../../src/runner/intake.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const redis = connectRedis();
const prefixes: string[] = [];
/** Connections handed to Workers: BullMQ does not close a connection it was given, so the file does. */
const extra: Array<ReturnType<typeof connectRedis>> = [];
function conn(): ReturnType<typeof connectRedis> {
  const c = connectRedis();
  extra.push(c);
  return c;
}
after(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  await redis.quit();
  for (const c of extra) c.disconnect();
});

const taskData = (taskId: string): TaskJobData => ({ taskId, payload: '{}', tag: 'x' });

function setup(label: string, inIntake: Set<string> = new Set()) {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  const leases = new LeaseStore(redis, prefix, 'rnr_1');
  const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix });
  const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix });
  const reconciler = new LeaseReconciler(redis, prefix);
  const sent: string[][] = [];
  const keeper = new LeaseKeeper({
    leases,
    intervalMs: 60_000,
    onFatal: () => undefined,
    logger,
    heartbeat: async (batch: readonly LeaseRef[]) => {
      sent.push(batch.map((l) => l.taskId).sort());
      return { ok: true, value: { leases: batch.map((l) => ({ taskId: l.taskId, status: 'ok' as const })) } };
    },
    inspect: (entries) => reconciler.inspect(entries),
    reportLost: (lost) => reportWorkerLost(results, lost),
    inIntake: () => inIntake,
  });
  return { prefix, leases, tasks, results, reconciler, keeper, sent };
}

test('reconciliation: queued and outbox leases are heartbeated; an orphan is handed back at the second tick, once', async () => {
  const { leases, tasks, results, reconciler, keeper, sent } = setup('reconcile-basic');
  try {
    // (Task ids never collide with BullMQ's own key names such as `delayed`: they are random.)
    await tasks.add(TASK_JOB_NAME, taskData('tq'), { jobId: 'tq' });
    await tasks.add(TASK_JOB_NAME, taskData('td'), { jobId: 'td', delay: 60_000 });
    await results.add(
      RESULT_JOB_NAME,
      { taskId: 'to', outcome: { kind: 'succeeded', attempts: 1, durationMs: 1 } },
      resultJobOptions('to'),
    );
    await leases.record([
      { taskId: 'tq', leaseToken: 'q' },
      { taskId: 'td', leaseToken: 'd' },
      { taskId: 'to', leaseToken: 'o' },
      { taskId: 'tx', leaseToken: 'x' },
    ]);
    const states = Object.fromEntries((await reconciler.inspect(await leases.all())).map((i) => [i.taskId, i.state]));
    assert.deepEqual(states, { tq: 'queued', td: 'queued', to: 'outbox', tx: 'orphan' });

    const first = await keeper.tick();
    assert.equal(first.handedBack, 0, 'an orphan seen once may be an intake between its two writes');
    assert.deepEqual(sent.at(-1), ['td', 'to', 'tq', 'tx']);

    const second = await keeper.tick();
    assert.equal(second.handedBack, 1);
    assert.deepEqual(sent.at(-1), ['td', 'to', 'tq'], 'the orphan is no longer heartbeated');
    assert.equal(await leases.get('tx'), undefined, 'handed back: removed from the hash');

    const third = await keeper.tick();
    assert.equal(third.handedBack, 0, 'handed back once');
    assert.equal(await leases.count(), 3);
  } finally {
    await Promise.all([tasks.close(), results.close()]);
  }
});

test('reconciliation: an orphan whose token changed, or that an intake is writing, is not handed back', async () => {
  const busy = new Set<string>(['writing']);
  const { leases, tasks, results, keeper } = setup('reconcile-race', busy);
  try {
    await leases.record([
      { taskId: 'writing', leaseToken: 'w' },
      { taskId: 'redelivered', leaseToken: 'r1' },
    ]);
    await keeper.tick();
    await leases.record([{ taskId: 'redelivered', leaseToken: 'r2' }]);
    const report = await keeper.tick();
    assert.equal(report.handedBack, 0);
    assert.equal(await leases.get('writing'), 'w');
    assert.equal(await leases.get('redelivered'), 'r2');
    busy.clear();
    assert.equal((await keeper.tick()).handedBack, 1, 'the redelivered one, orphaned twice with its new token');
    assert.equal(await leases.get('writing'), 'w', 'seen orphaned once only, after its intake ended');
    assert.equal((await keeper.tick()).handedBack, 1);
    assert.equal(await leases.count(), 0, 'both handed back once nothing writes them any more');
  } finally {
    await Promise.all([tasks.close(), results.close()]);
  }
});

test('reconciliation: a job BullMQ failed for stalling gets one PAR_ERR_WORKER_LOST result and keeps its lease until it is published', async () => {
  const { prefix, leases, tasks, results, keeper, sent } = setup('reconcile-stalled');
  // A worker that takes the job and dies: it fetches it by hand and never renews the lock.
  const dead = new Worker<TaskJobData>(TASKS_QUEUE, null, { connection: conn(), prefix, lockDuration: 300, autorun: false });
  let ran = 0;
  let survivor: Worker<TaskJobData> | undefined;
  try {
    await tasks.add(TASK_JOB_NAME, taskData('stuck'), { jobId: 'stuck', attempts: 3 });
    await leases.record([{ taskId: 'stuck', leaseToken: 's' }]);
    const taken = await dead.getNextJob('dead-token');
    assert.equal(taken.id, 'stuck');
    // A live worker with no stalls allowed: its stall check moves the job back with a deferred
    // failure, then fails it without running the processor, exactly as after the third stall.
    survivor = new Worker<TaskJobData>(
      TASKS_QUEUE,
      async () => {
        ran += 1;
      },
      {
        connection: conn(),
        prefix,
        lockDuration: 300,
        stalledInterval: 200,
        maxStalledCount: 0,
      },
    );
    const failed = await waitUntil(
      async () => ((await tasks.getJobState('stuck')) === 'failed' ? (await tasks.getJob('stuck'))! : undefined),
      15_000,
      'BullMQ to fail the stalled job',
    );
    assert.equal(failed.failedReason, STALLED_REASON);
    assert.equal(ran, 0, 'the processor never ran');

    const report = await keeper.tick();
    assert.equal(report.lost, 1);
    const result = await results.getJob('stuck');
    assert.equal(result?.data.outcome.kind, 'failed');
    assert.equal(result.data.outcome.error?.code, 'PAR_ERR_WORKER_LOST');
    assert.deepEqual(sent.at(-1), ['stuck'], 'heartbeated while its result is in the outbox');

    const again = await keeper.tick();
    assert.equal(again.lost, 0, 'reported once: the result is in the outbox now');
    assert.equal((await results.getJobCounts('waiting')).waiting, 1);
  } finally {
    await survivor?.close();
    await dead.close(true);
    await Promise.all([tasks.close(), results.close()]);
  }
});

test('a task delivered again after its job finished here (result dropped as stale) runs again instead of colliding with the old job id', async () => {
  const { prefix, leases, tasks, results, reconciler, keeper } = setup('reconcile-redelivery');
  let runs = 0;
  const cp = await generateSigningKeyPair();
  const signer = new TaskSigner(await importSigningKey(cp.privateJwk), cp.kid);
  const intake = new TaskIntake({
    runnerId: 'rnr_1',
    leases,
    tasksQueue: tasks,
    resultsQueue: results,
    logger,
    verifier: new TaskVerifier({ keys: [cp.publicJwk as Jwks['keys'][number]] }),
    queueKey: () => deriveQueueKey({ runnerId: 'rnr_1', privateKey: cp.privateJwk }),
    allowlist: new Allowlist(['com.datadoghq.http.request']),
    taskJobOptions: (taskId) => taskJobOptions({ maxAttempts: 1, retryBackoffMs: 10 }, taskId),
    inspect: (entries) => reconciler.inspect(entries),
  });
  const worker = new Worker<TaskJobData>(
    TASKS_QUEUE,
    async (job) => {
      runs += 1;
      await results.add(
        RESULT_JOB_NAME,
        { taskId: job.data.taskId, outcome: { kind: 'succeeded', attempts: 1, durationMs: 1 } },
        resultJobOptions(job.data.taskId),
      );
    },
    { connection: conn(), prefix },
  );
  const publisher = new Worker<ResultJobData>(RESULTS_QUEUE, async () => ({ status: 'dropped' }), { connection: conn(), prefix });
  try {
    const claims = { sub: 'tsk_re', aud: 'rnr_1', org: 'o', action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 5000 };
    const delivery = async (token: string, attempt: number) => ({
      taskId: 'tsk_re',
      attempt,
      leaseToken: token,
      leaseExpiresAt: Date.now() + 30_000,
      signedTask: await signer.sign(claims, 60_000),
    });
    await intake.accept([await delivery('l1', 1)]);
    // Run, result written, result job completed ("dropped"): job and result both finished.
    await waitUntil(
      async () => ((await results.getJobState('tsk_re')) === 'completed' ? true : undefined),
      10_000,
      'the first run and its result',
    );
    await waitUntil(async () => ((await tasks.getJobState('tsk_re')) === 'completed' ? true : undefined), 10_000, 'the job to complete');
    assert.deepEqual(
      (await reconciler.inspect([{ taskId: 'tsk_re', leaseToken: 'l1' }])).map((i) => i.state),
      ['finished'],
    );

    // Delivered again as attempt 1 (a control plane whose Redis lost the delivery count in a
    // failover): a first delivery is not inspected, so the add meets the old job and nothing runs;
    // the lease is `finished`, and the keeper hands it back at its second look (so it comes again).
    await intake.accept([await delivery('l1b', 1)]);
    assert.deepEqual(
      (await reconciler.inspect([{ taskId: 'tsk_re', leaseToken: 'l1b' }])).map((i) => i.state),
      ['finished'],
    );
    assert.equal((await keeper.tick()).handedBack, 0, 'first look: noted');
    assert.equal((await keeper.tick()).handedBack, 1, 'second look: handed back');
    assert.equal(runs, 1, 'not run on the repeated first delivery');

    // The control plane's next delivery counts it: attempt 2, inspected, the old jobs removed, run again.
    await intake.accept([await delivery('l2', 2)]);
    await waitUntil(
      async () => (runs === 2 && (await results.getJobState('tsk_re')) === 'completed' ? true : undefined),
      10_000,
      'the second run and its result',
    );
    assert.equal(runs, 2, 'run again, once');
    assert.equal(await leases.get('tsk_re'), 'l2');
  } finally {
    await Promise.all([worker.close(), publisher.close()]);
    await Promise.all([tasks.close(), results.close()]);
  }
});
