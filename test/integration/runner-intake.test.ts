/** Runner intake against a real Redis: verification, allowlist, leases hash, batched queue writes. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { RESULTS_QUEUE, TASKS_QUEUE, leasesKey, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import type { Delivery, Jwks } from '../../src/contracts/runner-api.js';
import { Allowlist } from '../../src/actions/allowlist.js';
import { generateSigningKeyPair, importSigningKey, type KeyPairJwk } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier, type UnsignedTaskClaims } from '../../src/crypto/task-signature.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { readIdentity, writeIdentity } from '../../src/lib/identity-file.js';
import { TaskIntake } from '../../src/runner/intake.js';
import { deriveQueueKey, verifyTaskJob } from '../../src/crypto/task-job-tag.js';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { LeaseStore } from '../../src/runner/lease-store.js';
import { taskJobOptions } from '../../src/contracts/job-options.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const RUNNER_ID = 'rnr_intake';
const redis = connectRedis();
const prefix = uniquePrefix('runner-intake');
const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix });
const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix });
let cpKeys: KeyPairJwk;
let signer: TaskSigner;
let intake: TaskIntake;
let dir: Awaited<ReturnType<typeof tempDir>>;
let identity: RunnerIdentity;

before(async () => {
  cpKeys = await generateSigningKeyPair();
  signer = new TaskSigner(await importSigningKey(cpKeys.privateJwk), cpKeys.kid);
  // The pinned keys come from the identity file, as in the runner.
  dir = await tempDir('intake');
  const own = await generateSigningKeyPair();
  await writeIdentity(dir.path, {
    ddBaseURL: 'http://127.0.0.1:1',
    urn: `urn:par:runner:${RUNNER_ID}`,
    runnerId: RUNNER_ID,
    orgId: 'org1',
    runnerName: 'intake',
    modes: ['pull'],
    actionsAllowlist: ['com.datadoghq.http.*'],
    privateKey: own.privateJwk as Jwks['keys'][number],
    publicKey: own.publicJwk as Jwks['keys'][number],
    controlPlaneKeys: { keys: [cpKeys.publicJwk as Jwks['keys'][number]] },
    enrolledAt: new Date().toISOString(),
  });
  const read = await readIdentity(dir.path);
  assert.ok(read);
  identity = read;
  intake = new TaskIntake({
    runnerId: identity.runnerId,
    leases: new LeaseStore(redis, prefix, identity.runnerId),
    tasksQueue: tasks,
    resultsQueue: results,
    verifier: new TaskVerifier(identity.controlPlaneKeys),
    queueKey: () => deriveQueueKey(identity),
    allowlist: new Allowlist(identity.actionsAllowlist),
    taskJobOptions: (taskId) => taskJobOptions({ maxAttempts: 3, retryBackoffMs: 100 }, taskId),
    logger,
  });
});

after(async () => {
  await tasks.close();
  await results.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  await dir.remove();
});

let seq = 0;
function newTaskId(): string {
  seq += 1;
  return `tsk_${Date.now().toString(36)}_${seq}`;
}

function claims(taskId: string, overrides: Partial<UnsignedTaskClaims> = {}): UnsignedTaskClaims {
  return {
    sub: taskId,
    aud: RUNNER_ID,
    org: 'org1',
    action: 'com.datadoghq.http.request',
    inputs: { url: 'http://example.test/' },
    timeoutMs: 5000,
    ...overrides,
  };
}

function delivery(taskId: string, signedTask: string, leaseToken = `lease-${taskId}`, attempt = 1): Delivery {
  return { taskId, attempt, leaseToken, leaseExpiresAt: Date.now() + 30_000, signedTask };
}

test('an accepted task becomes one job on `tasks` (job id = task id) and its lease is recorded', async () => {
  const taskId = newTaskId();
  const signed = await signer.sign(claims(taskId), 60_000);
  const report = await intake.accept([delivery(taskId, signed, 'lease-a', 2)]);
  assert.deepEqual(report, { accepted: [taskId], rejected: [] });
  const job = await tasks.getJob(taskId);
  assert.ok(job, 'job exists');
  assert.equal(job.data.taskId, taskId);
  // The verified claims, tagged with the key derived from the runner identity; the JWS is not queued.
  const key = deriveQueueKey(identity);
  assert.ok(job.data.tag.startsWith(`${key.kid}.`));
  const payload = verifyTaskJob(new Map([[key.kid, key]]), job.data);
  assert.deepEqual(
    { ...payload.task, expiresAt: 0 },
    {
      taskId,
      runnerId: RUNNER_ID,
      orgId: 'org1',
      action: 'com.datadoghq.http.request',
      inputs: { url: 'http://example.test/' },
      timeoutMs: 5000,
      expiresAt: 0,
    },
  );
  assert.ok(!JSON.stringify(job.data).includes(signed.split('.')[2] ?? 'no signature'), 'the JWS is not in the job');
  assert.equal(payload.deliveryAttempt, 2);
  assert.equal(job.opts.attempts, 3);
  assert.equal(await results.getJob(taskId), undefined);
  assert.equal(await redis.hget(leasesKey(prefix, RUNNER_ID), taskId), 'lease-a');
});

async function expectRejected(taskId: string, signed: string, code: string, d: Delivery = delivery(taskId, signed)): Promise<void> {
  const report = await intake.accept([d]);
  assert.deepEqual(report.accepted, []);
  assert.equal(report.rejected[0]?.error.code, code);
  assert.equal(await tasks.getJob(taskId), undefined, 'no task job: the action never runs');
  const result = await results.getJob(taskId);
  assert.ok(result, 'result job exists');
  assert.equal(result.data.taskId, taskId);
  assert.equal(result.data.outcome.kind, 'rejected');
  assert.equal(result.data.outcome.error?.code, code);
  assert.equal(result.data.outcome.attempts, d.attempt);
  assert.equal(result.data.outcome.durationMs, 0);
  assert.equal(
    await redis.hget(leasesKey(prefix, RUNNER_ID), taskId),
    d.leaseToken,
    'the lease is recorded so the rejection is published under it',
  );
}

test('a task signed with an untrusted key is rejected: PAR_ERR_TASK_SIGNATURE_INVALID', async () => {
  const other = await generateSigningKeyPair();
  // Same kid as the pinned key: the signature itself must fail, not just the key lookup.
  const forger = new TaskSigner(await importSigningKey(other.privateJwk), cpKeys.kid);
  const taskId = newTaskId();
  await expectRejected(taskId, await forger.sign(claims(taskId), 60_000), 'PAR_ERR_TASK_SIGNATURE_INVALID');
  const unknownKid = new TaskSigner(await importSigningKey(other.privateJwk), other.kid);
  const taskId2 = newTaskId();
  await expectRejected(taskId2, await unknownKid.sign(claims(taskId2), 60_000), 'PAR_ERR_TASK_SIGNATURE_INVALID');
});

test('an expired task is rejected: PAR_ERR_TASK_EXPIRED', async () => {
  const taskId = newTaskId();
  const signed = await signer.sign(claims(taskId), 1000, Date.now() - 120_000);
  await expectRejected(taskId, signed, 'PAR_ERR_TASK_EXPIRED');
});

test('a task signed for another runner is rejected: PAR_ERR_TASK_WRONG_RUNNER', async () => {
  const taskId = newTaskId();
  await expectRejected(taskId, await signer.sign(claims(taskId, { aud: 'rnr_other' }), 60_000), 'PAR_ERR_TASK_WRONG_RUNNER');
});

test('a tampered task is rejected: PAR_ERR_TASK_SIGNATURE_INVALID', async () => {
  const taskId = newTaskId();
  const [header, payload, signature] = (await signer.sign(claims(taskId), 60_000)).split('.');
  const body = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  body['inputs'] = { url: 'http://169.254.169.254/latest/meta-data/' };
  const tampered = `${header}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${signature}`;
  await expectRejected(taskId, tampered, 'PAR_ERR_TASK_SIGNATURE_INVALID');
});

test('a delivery whose envelope id differs from the signed task id is rejected', async () => {
  const taskId = newTaskId();
  const signed = await signer.sign(claims(newTaskId()), 60_000);
  await expectRejected(taskId, signed, 'PAR_ERR_TASK_SIGNATURE_INVALID');
});

test('garbage instead of a JWS is rejected: PAR_ERR_TASK_MALFORMED', async () => {
  const taskId = newTaskId();
  await expectRejected(taskId, 'not-a-jws', 'PAR_ERR_TASK_MALFORMED');
});

test('an action outside the allowlist is rejected: PAR_ERR_ACTION_NOT_ALLOWLISTED', async () => {
  const taskId = newTaskId();
  const signed = await signer.sign(claims(taskId, { action: 'com.datadoghq.script.runPredefinedScript' }), 60_000);
  await expectRejected(taskId, signed, 'PAR_ERR_ACTION_NOT_ALLOWLISTED', delivery(taskId, signed, 'lease-x', 3));
});

test('a redelivery while the job exists adds no second job but refreshes the lease token', async () => {
  const taskId = newTaskId();
  const first = await signer.sign(claims(taskId), 60_000);
  await intake.accept([delivery(taskId, first, 'lease-1', 1)]);
  const firstTag = (await tasks.getJob(taskId))?.data.tag;
  const second = await signer.sign(claims(taskId), 60_000, Date.now() + 1000);
  const report = await intake.accept([delivery(taskId, second, 'lease-2', 2)]);
  assert.deepEqual(report.accepted, [taskId]);
  const job = await tasks.getJob(taskId);
  assert.ok(job);
  assert.equal(job.data.tag, firstTag, 'the original job is kept');
  assert.equal((JSON.parse(job.data.payload) as { deliveryAttempt: number }).deliveryAttempt, 1);
  assert.equal(await redis.hget(leasesKey(prefix, RUNNER_ID), taskId), 'lease-2', 'the newest token wins');
  const all = await tasks.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
  assert.equal(all.filter((j) => j.data.taskId === taskId).length, 1);
});

test('one dequeue response is handled as a batch: accepted and rejected side by side', async () => {
  const ok1 = newTaskId();
  const ok2 = newTaskId();
  const bad = newTaskId();
  const report = await intake.accept([
    delivery(ok1, await signer.sign(claims(ok1), 60_000)),
    delivery(bad, await signer.sign(claims(bad, { aud: 'rnr_other' }), 60_000)),
    delivery(ok2, await signer.sign(claims(ok2), 60_000)),
  ]);
  assert.deepEqual(report.accepted.sort(), [ok1, ok2].sort());
  assert.deepEqual(
    report.rejected.map((r) => [r.taskId, r.error.code]),
    [[bad, 'PAR_ERR_TASK_WRONG_RUNNER']],
  );
  assert.ok(await tasks.getJob(ok1));
  assert.ok(await tasks.getJob(ok2));
  assert.ok(await results.getJob(bad));
  const leases = await redis.hmget(leasesKey(prefix, RUNNER_ID), ok1, ok2, bad);
  assert.deepEqual(leases, [`lease-${ok1}`, `lease-${ok2}`, `lease-${bad}`]);
});
