/**
 * Intake and the audit log together, on the real Redis and a real audit directory: every verdict
 * is on disk before a task is queued, and when the audit log cannot take an entry the intake fails
 * closed (nothing queued, nothing reported, the leases dropped: they lapse and the control plane
 * hands the tasks out again).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { RESULTS_QUEUE, TASKS_QUEUE, leasesKey, type ResultJobData, type TaskJobData } from '../../src/contracts/jobs.js';
import type { Jwks } from '../../src/contracts/runner-api.js';
import { Allowlist } from '../../src/actions/allowlist.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { openRunnerAudit } from '../../src/runner/audit/runner-audit.js';
import { verifyAuditDir } from '../../src/runner/audit/verify.js';
import { deriveQueueKey } from '../../src/crypto/task-job-tag.js';
import { TaskIntake } from '../../src/runner/intake.js';
import { LeaseStore } from '../../src/runner/lease-store.js';
import { createRunnerMetrics } from '../../src/runner/metrics.js';
import { taskJobOptions } from '../../src/contracts/job-options.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/tmp.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const RUNNER_ID = 'rnr_intake_audit';
const redis = connectRedis();
const prefix = uniquePrefix('runner-intake-audit');
const tasks = new Queue<TaskJobData>(TASKS_QUEUE, { connection: redis, prefix });
const results = new Queue<ResultJobData>(RESULTS_QUEUE, { connection: redis, prefix });
const dir = await tempDir('intake-audit');
const cp = await generateSigningKeyPair();
const own = await generateSigningKeyPair();
const signer = new TaskSigner(await importSigningKey(cp.privateJwk), cp.kid);
const audit = await openRunnerAudit({
  dir: join(dir.path, 'audit'),
  runnerId: RUNNER_ID,
  privateKey: own.privateJwk as never,
  checkpointEvery: 100,
  checkpointIntervalMs: 60_000,
  maxFileBytes: 1 << 20,
  logger,
});
const intake = new TaskIntake({
  runnerId: RUNNER_ID,
  leases: new LeaseStore(redis, prefix, RUNNER_ID),
  tasksQueue: tasks,
  resultsQueue: results,
  verifier: new TaskVerifier({ keys: [cp.publicJwk as Jwks['keys'][number]] }),
  queueKey: () => deriveQueueKey({ runnerId: RUNNER_ID, privateKey: own.privateJwk }),
  allowlist: new Allowlist(['com.datadoghq.http.*']),
  taskJobOptions: (taskId) => taskJobOptions({ maxAttempts: 3, retryBackoffMs: 100 }, taskId),
  logger,
  audit: audit.tasks,
});

after(async () => {
  await audit.log.close();
  await tasks.close();
  await results.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
  await dir.remove();
});

async function delivery(
  taskId: string,
  action: string,
): Promise<{ taskId: string; attempt: number; leaseToken: string; leaseExpiresAt: number; signedTask: string }> {
  const signedTask = await signer.sign(
    { sub: taskId, aud: RUNNER_ID, org: 'org1', action, inputs: { url: 'http://example.test/' }, timeoutMs: 5000, submittedBy: 'user:u1' },
    60_000,
  );
  return { taskId, attempt: 1, leaseToken: `lease-${taskId}`, leaseExpiresAt: Date.now() + 30_000, signedTask };
}

test('one batch: the verdicts are in the audit file (accepted and refused) once accept() returns', async () => {
  const report = await intake.accept([
    await delivery('ta-1', 'com.datadoghq.http.request'),
    await delivery('ta-2', 'com.datadoghq.script.runPredefinedScript'),
  ]);
  assert.deepEqual(report.accepted, ['ta-1']);
  const text = await readFile(join(dir.path, 'audit', 'audit-000001.jsonl'), 'utf8');
  const verdicts = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['type'] === 'verdict');
  assert.deepEqual(
    verdicts.map((v) => [v['taskId'], v['verdict'], v['code'], v['submittedBy']]),
    [
      ['ta-1', 'accepted', undefined, 'user:u1'],
      ['ta-2', 'refused', 'PAR_ERR_ACTION_NOT_ALLOWLISTED', 'user:u1'],
    ],
  );
  assert.ok(await tasks.getJob('ta-1'));
  assert.ok(
    (await createRunnerMetrics({ audit: audit.log, defaultMetrics: false }).registry.metrics()).includes('par_audit_chain_length 3'),
  );
});

test('an audit log that cannot take the entry fails the intake closed: nothing queued, nothing reported', async () => {
  await audit.log.close(); // a real log in a state where appends fail
  await assert.rejects(
    intake.accept([await delivery('ta-3', 'com.datadoghq.http.request'), await delivery('ta-4', 'com.datadoghq.script.x')]),
    (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUDIT_APPEND_FAILED',
  );
  assert.equal(await tasks.getJob('ta-3'), undefined);
  assert.equal(await results.getJob('ta-4'), undefined);
  assert.deepEqual(
    await redis.hmget(leasesKey(prefix, RUNNER_ID), 'ta-3', 'ta-4'),
    [null, null],
    'no lease left to heartbeat: they lapse and the tasks are handed out again',
  );
  assert.equal(await redis.hget(leasesKey(prefix, RUNNER_ID), 'ta-1'), 'lease-ta-1', 'earlier leases stay');
  const report = await verifyAuditDir(join(dir.path, 'audit'), [own.publicJwk.x as string]);
  assert.equal(report.ok, true, JSON.stringify(report.problem));
  assert.equal(report.unsignedTail, 0, 'closing signed the head');
});
