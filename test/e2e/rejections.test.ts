/**
 * Tasks the runner must refuse, handed to a real runner through the control plane's own queue:
 * forged, tampered, expired, signed for another runner, not allowlisted, malformed. None may
 * reach the service; each is reported once, as a failure with its stable error code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { loadOrCreateSigningKey } from '../../src/control-plane/store/signing-key.js';
import { enqueueSignedTask } from '../../src/control-plane/store/tasks.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner, type UnsignedTaskClaims } from '../../src/crypto/task-signature.js';
import type { ErrorCode } from '../../src/errors/codes.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { type RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { connectRedis } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

describe('rejected tasks are never executed', () => {
  let system: System;
  let target: TargetServer;
  let redis: Redis;
  let identity: RunnerIdentity;
  let signer: TaskSigner;

  before(async () => {
    target = await startTargetServer();
    system = await startSystem({ workers: 1 });
    redis = connectRedis();
    identity = (await readIdentity(system.configDir))!;
    const key = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));
    signer = new TaskSigner(await importSigningKey(key.privateJwk), key.kid);
  });

  after(async () => {
    redis.disconnect();
    await system.stop();
    await target.close();
  });

  function claims(taskId: string, overrides: Partial<UnsignedTaskClaims> = {}): UnsignedTaskClaims {
    return {
      sub: taskId,
      aud: identity.runnerId,
      org: identity.orgId,
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: `${target.url}/health?task=${taskId}` },
      timeoutMs: 5_000,
      ...overrides,
    };
  }

  async function handOver(taskId: string, signedTask: string, action = 'com.datadoghq.http.request'): Promise<void> {
    await enqueueSignedTask(redis, system.cpPrefix, { taskId, runnerId: identity.runnerId, orgId: identity.orgId, action, signedTask });
  }

  async function expectRejected(taskId: string, code: ErrorCode): Promise<void> {
    const view = await system.api.waitForTask(taskId, 20_000);
    assert.equal(view.state, 'failed', JSON.stringify(view));
    assert.equal(view.outcome?.kind, 'rejected');
    assert.equal(view.outcome.error?.code, code);
    assert.equal(view.outcome.error.retryable, false);
    const events = await system.api.getTaskEvents(taskId);
    assert.equal(events.filter((e) => e.type === 'result.recorded').length, 1);
    assert.equal(target.requests.filter((r) => r.url.includes(taskId)).length, 0, 'the service must never see the task');
  }

  test('a forged signature (another key claiming the pinned key id)', async () => {
    const forger = await generateSigningKeyPair();
    const forged = new TaskSigner(await importSigningKey(forger.privateJwk), signer.kid);
    const id = randomUUID();
    await handOver(id, await forged.sign(claims(id), 60_000));
    await expectRejected(id, 'PAR_ERR_TASK_SIGNATURE_INVALID');
  });

  test('tampered inputs under a genuine signature', async () => {
    const id = randomUUID();
    const [header, payload, signature] = (await signer.sign(claims(id), 60_000)).split('.') as [string, string, string];
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { inputs: { url: string } };
    body.inputs.url = `${target.url}/health?task=${id}&evil=1`;
    await handOver(id, [header, Buffer.from(JSON.stringify(body)).toString('base64url'), signature].join('.'));
    await expectRejected(id, 'PAR_ERR_TASK_SIGNATURE_INVALID');
  });

  test('an expired task', async () => {
    const id = randomUUID();
    await handOver(id, await signer.sign(claims(id), 1_000, Date.now() - 120_000));
    await expectRejected(id, 'PAR_ERR_TASK_EXPIRED');
  });

  test('a task signed for another runner', async () => {
    const id = randomUUID();
    await handOver(id, await signer.sign(claims(id, { aud: randomUUID() }), 60_000));
    await expectRejected(id, 'PAR_ERR_TASK_WRONG_RUNNER');
  });

  test('a genuine task for an action outside the allowlist', async () => {
    const id = randomUUID();
    // http.testConnection is inherited from http.request, so a bundle the runner does not allow at all.
    await handOver(
      id,
      await signer.sign(claims(id, { action: 'com.datadoghq.kubernetes.core.listPod', inputs: { namespace: 'default' } }), 60_000),
      'com.datadoghq.kubernetes.core.listPod',
    );
    await expectRejected(id, 'PAR_ERR_ACTION_NOT_ALLOWLISTED');
  });

  test('a malformed task', async () => {
    const id = randomUUID();
    await handOver(id, 'this-is-not-a-jws');
    await expectRejected(id, 'PAR_ERR_TASK_MALFORMED');
  });

  test('a genuine task still runs after all that', async () => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: `${target.url}/health?task=ok` },
    });
    const view = await system.api.waitForTask(task.id, 20_000);
    assert.equal(view.state, 'succeeded', JSON.stringify(view.outcome));
    assert.equal(target.requests.filter((r) => r.url.includes('task=ok')).length, 1);
  });
});
