import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner } from '../../src/crypto/task-signature.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';
import { newTaskId, RUNNER_ID, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const REQUEST = 'com.datadoghq.http.request';

/** Re-encodes the JWS payload with `change` applied, keeping the original signature. */
function tamper(jws: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = jws.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

describe('worker: tasks are verified and allowlisted before anything runs', () => {
  let h: WorkerHarness;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    // Only http.request is allowed (and so http.testConnection); kubernetes.core.listPod is a known action that is not.
    h = await startWorkerHarness('worker-admission', { identityAllowlist: [REQUEST, 'com.example.unimplemented.*'] });
  });
  after(async () => {
    await h.close();
    await target.close();
  });

  async function expectRejected(taskId: string, code: string): Promise<void> {
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'rejected');
    assert.equal(outcome.error?.code, code);
    assert.equal(outcome.error.retryable, false);
    assert.equal(outcome.output, undefined);
    assert.equal(outcome.attempts, 1);
    assert.equal(
      await waitUntil(async () => ((await h.tasks.getJobState(taskId)) === 'failed' ? true : undefined), 2_000, 'task job failed'),
      true,
    );
    const job = await h.tasks.getJob(taskId);
    assert.equal(job?.attemptsMade, 1, 'a rejection is never retried');
  }

  it('a non-allowlisted action is rejected and never reaches the target', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: 'com.datadoghq.kubernetes.core.listPod', inputs: { namespace: 'default' } });
    await expectRejected(taskId, 'PAR_ERR_ACTION_NOT_ALLOWLISTED');
    assert.equal(target.requests.length, 0);
  });

  it('a task signed by another key (claiming a pinned kid) is rejected', async () => {
    const attacker = await generateSigningKeyPair();
    const forger = new TaskSigner(await importSigningKey(attacker.privateJwk), h.controlPlane.kid);
    const taskId = newTaskId();
    const forged = await forger.sign(
      { sub: taskId, aud: RUNNER_ID, org: 'org-1', action: REQUEST, inputs: { url: `${target.url}/health` }, timeoutMs: 5_000 },
      60_000,
    );
    await h.enqueueSigned(taskId, forged);
    await expectRejected(taskId, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    assert.equal(target.requests.length, 0);
  });

  it('a task with a tampered payload is rejected', async () => {
    const taskId = newTaskId();
    const signed = await h.sign({ sub: taskId, action: REQUEST, inputs: { url: 'http://127.0.0.1:1/harmless' } });
    await h.enqueueSigned(
      taskId,
      tamper(signed, (c) => {
        c['inputs'] = { url: `${target.url}/health` };
      }),
    );
    await expectRejected(taskId, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    assert.equal(target.requests.length, 0);
  });

  it('a job whose task id differs from the signed one is rejected', async () => {
    const signedFor = newTaskId();
    const jobId = newTaskId();
    await h.enqueueSigned(jobId, await h.sign({ sub: signedFor, action: REQUEST, inputs: { url: `${target.url}/health` } }));
    await expectRejected(jobId, 'PAR_ERR_TASK_SIGNATURE_INVALID');
  });

  it('a task for another runner is rejected', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, aud: 'someone-else', action: REQUEST, inputs: { url: `${target.url}/health` } });
    await expectRejected(taskId, 'PAR_ERR_TASK_WRONG_RUNNER');
  });

  it('garbage instead of a JWS is rejected as malformed', async () => {
    const taskId = newTaskId();
    await h.enqueueSigned(taskId, 'not-a-jws');
    await expectRejected(taskId, 'PAR_ERR_TASK_MALFORMED');
  });

  it('an allowlisted action this worker does not implement is PAR_ERR_ACTION_UNKNOWN', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: 'com.example.unimplemented.doThing', inputs: {} });
    await expectRejected(taskId, 'PAR_ERR_ACTION_UNKNOWN');
  });

  it('an expired task still runs (a worker does not re-check expiry, so retries work)', async () => {
    const taskId = newTaskId();
    const signed = await h.signer.sign(
      { sub: taskId, aud: RUNNER_ID, org: 'org-1', action: REQUEST, inputs: { url: `${target.url}/health` }, timeoutMs: 5_000 },
      1_000,
      Date.now() - 60_000,
    );
    await h.enqueueSigned(taskId, signed);
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded');
    assert.deepEqual((outcome.output as { body: unknown }).body, { ok: true });
  });
});
