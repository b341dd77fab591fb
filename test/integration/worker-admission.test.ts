/**
 * A worker runs only what the runner's intake queued: the job's tag (HMAC keyed from the runner
 * identity, src/crypto/task-job-tag.ts) must match all of its data, and the allowlist is checked
 * again. Whoever can write to the runner's Redis can add, copy or edit jobs: none of it runs, each
 * is reported with PAR_ERR_TASK_SIGNATURE_INVALID, and the target never sees a request. An
 * identity rotation keeps jobs tagged with the previous key running during the overlap.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { deriveQueueKey } from '../../src/crypto/task-job-tag.js';
import { writeIdentity } from '../../src/lib/identity-file.js';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { rotatedIdentity } from '../../src/runner/identity-rotation.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';
import { newTaskId, RUNNER_ID, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const REQUEST = 'com.datadoghq.http.request';

describe('worker: jobs are checked against their tag and allowlisted before anything runs', () => {
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

  async function expectSucceeded(taskId: string): Promise<void> {
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.deepEqual((outcome.output as { body: unknown }).body, { ok: true });
  }

  it('a non-allowlisted action is rejected and never reaches the target', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: 'com.datadoghq.kubernetes.core.listPod', inputs: { namespace: 'default' } });
    await expectRejected(taskId, 'PAR_ERR_ACTION_NOT_ALLOWLISTED');
    assert.equal(target.requests.length, 0);
  });

  it('job data edited in Redis after the runner queued it is never run', async () => {
    const harmless = { url: 'http://127.0.0.1:1/harmless' };
    type Edit = (data: Record<string, unknown>, payload: Record<string, unknown>, task: Record<string, unknown>) => void;
    const other = h.jobData({ sub: newTaskId(), action: REQUEST, inputs: { url: `${target.url}/health` } });
    const edits: Array<[string, Edit]> = [
      ['inputs', (_d, _p, t) => (t['inputs'] = { url: `${target.url}/health` })],
      ['action', (_d, _p, t) => (t['action'] = 'com.datadoghq.http.testConnection')],
      ['timeoutMs', (_d, _p, t) => (t['timeoutMs'] = 60_000)],
      ['connection added', (_d, _p, t) => (t['connection'] = { id: 'c1', integration: 'http', settings: { baseUrl: target.url } })],
      ['payload field added', (_d, p) => (p['extra'] = 1)],
      ['traceparent', (_d, p) => (p['traceparent'] = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')],
      ['tag removed', (d) => delete d['tag']],
      ["another job's payload and tag", (d) => Object.assign(d, { payload: other.payload, tag: other.tag })],
    ];
    const ids: string[] = [];
    for (const [, edit] of edits) {
      const taskId = newTaskId();
      ids.push(taskId);
      // Delayed, so it is still in Redis, untouched by any worker, when it is edited.
      await h.tasks.add('task', h.jobData({ sub: taskId, action: REQUEST, inputs: harmless }), { jobId: taskId, delay: 800 });
      const key = `${h.prefix}:tasks:${taskId}`;
      const data = JSON.parse((await h.redis.hget(key, 'data')) ?? '{}') as Record<string, unknown>;
      const payload = JSON.parse(String(data['payload'])) as Record<string, unknown>;
      edit(data, payload, payload['task'] as Record<string, unknown>);
      if (typeof data['payload'] === 'string' && data['payload'] !== other.payload) data['payload'] = JSON.stringify(payload);
      await h.redis.hset(key, 'data', JSON.stringify(data));
    }
    for (const [i, taskId] of ids.entries()) {
      const outcome = await h.waitResult(taskId);
      assert.equal(outcome.kind, 'rejected', `edit ${edits[i]?.[0] ?? ''}`);
      assert.equal(outcome.error?.code, 'PAR_ERR_TASK_SIGNATURE_INVALID', `edit ${edits[i]?.[0] ?? ''}`);
    }
    assert.equal(target.requests.length, 0, 'no edited job reached the target');
  });

  it('a job forged by someone who can write to Redis (another key, or the runner key id with a made-up tag) is refused', async () => {
    const attacker = await generateSigningKeyPair();
    const ownKey = deriveQueueKey({ runnerId: RUNNER_ID, privateKey: attacker.privateJwk });
    const forgedKey = { kid: h.queueKey.kid, key: ownKey.key };
    for (const key of [ownKey, forgedKey]) {
      const taskId = newTaskId();
      await h.enqueueJob(taskId, h.jobData({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/health` } }, key));
      await expectRejected(taskId, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    }
    // No tag at all: an older runner's job (the JWS) or anything else.
    const bare = newTaskId();
    await h.enqueueJob(bare, { taskId: bare, signedTask: 'a.b.c', deliveryAttempt: 1, acceptedAt: Date.now() });
    await expectRejected(bare, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    // A genuine tag beside the payload's fields unpacked (not the tagged bytes): no payload, refused.
    const loose = newTaskId();
    const genuine = h.jobData({ sub: loose, action: REQUEST, inputs: { url: `${target.url}/health` } });
    await h.enqueueJob(loose, { ...(JSON.parse(genuine.payload) as object), tag: genuine.tag });
    await expectRejected(loose, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    assert.equal(target.requests.length, 0);
  });

  it("a genuine job copied under another job id is refused (no second run under another task's id)", async () => {
    const taskId = newTaskId();
    const jobId = newTaskId();
    await h.enqueueJob(jobId, h.jobData({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/health` } }));
    // The refused copy is reported under its own job id, never as the task it copied: nothing ran.
    await expectRejected(jobId, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    assert.equal(target.requests.length, 0);
  });

  it('a task for another runner is rejected', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, aud: 'someone-else', action: REQUEST, inputs: { url: `${target.url}/health` } });
    await expectRejected(taskId, 'PAR_ERR_TASK_WRONG_RUNNER');
  });

  it('an allowlisted action this worker does not implement is PAR_ERR_ACTION_UNKNOWN', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: 'com.example.unimplemented.doThing', inputs: {} });
    await expectRejected(taskId, 'PAR_ERR_ACTION_UNKNOWN');
  });

  it('an expired task still runs (a worker does not re-check expiry, so retries work)', async () => {
    const taskId = newTaskId();
    const past = Math.floor(Date.now() / 1000) - 60;
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/health` }, iat: past - 1, exp: past });
    await expectSucceeded(taskId);
  });

  it('identity rotation: jobs tagged with the previous key run during the overlap, the new key is learnt, and not after the overlap', async () => {
    const before = target.requests.length;
    const oldKey = h.queueKey;
    const fresh = await generateSigningKeyPair();
    const privateKey = fresh.privateJwk as RunnerIdentity['privateKey'];
    const publicKey = fresh.publicJwk as RunnerIdentity['publicKey'];
    const rotated = rotatedIdentity(h.identity, privateKey, publicKey, Date.now() + 60_000);
    await writeIdentity(h.configDir, rotated);
    const newKey = deriveQueueKey(rotated);
    assert.notEqual(newKey.kid, oldKey.kid);

    // Tagged with the new key: a key id the worker does not hold yet makes it re-read config.yaml.
    const withNew = newTaskId();
    await h.enqueueJob(withNew, h.jobData({ sub: withNew, action: REQUEST, inputs: { url: `${target.url}/health` } }, newKey));
    await expectSucceeded(withNew);
    // Queued before the rotation (tagged with the previous key): still runs.
    const withOld = newTaskId();
    await h.enqueueJob(withOld, h.jobData({ sub: withOld, action: REQUEST, inputs: { url: `${target.url}/health` } }, oldKey));
    await expectSucceeded(withOld);
    assert.equal(target.requests.length, before + 2);

    // Past the overlap: the previous key no longer counts (a fresh key id forces the re-read).
    const later = await generateSigningKeyPair();
    const overlapOver = rotatedIdentity(
      rotated,
      later.privateJwk as RunnerIdentity['privateKey'],
      later.publicJwk as RunnerIdentity['publicKey'],
      0,
      Date.now() - 2 * 60 * 60_000,
    );
    await writeIdentity(h.configDir, overlapOver);
    const latest = newTaskId();
    await h.enqueueJob(
      latest,
      h.jobData({ sub: latest, action: REQUEST, inputs: { url: `${target.url}/health` } }, deriveQueueKey(overlapOver)),
    );
    await expectSucceeded(latest);
    const expired = newTaskId();
    await h.enqueueJob(expired, h.jobData({ sub: expired, action: REQUEST, inputs: { url: `${target.url}/health` } }, newKey));
    await expectRejected(expired, 'PAR_ERR_TASK_SIGNATURE_INVALID');
    assert.equal(target.requests.length, before + 3);
  });
});
