/**
 * Key rotation under load, through the real processes: a steady stream of tasks while the control
 * plane's signing key is rotated twice and the runner's identity once. No task that should pass
 * is refused, every task succeeds exactly once (one request at the service, one recorded result);
 * afterwards a task signed with the first, now retired key is refused with its code and never runs.
 * Then the same with a runner and worker that run from PAR_RUNNER_IDENTITY (no config.yaml).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { loadOrCreateSigningKey } from '../../src/control-plane/store/signing-key.js';
import { enqueueSignedTask } from '../../src/control-plane/store/tasks.js';
import { importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner } from '../../src/crypto/task-signature.js';
import { encodeIdentity, identityPath, readIdentity } from '../../src/lib/identity-file.js';
import { freePort } from '../../src/cli/local-redis.js';
import { startPar } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';
import { rotateIdentity, rotateSigningKey } from '../helpers/key-rotation.js';
import { connectRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSystem, waitForHttpOk, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';

const MIN_TASKS = 120;
const STEP = 25;
const SUBMIT_EVERY_MS = 50;
// Short lifetimes keep the test fast: tasks live 20 s (generous on a loaded machine), a replaced key verifies for 20 s more.
const CP_ENV = {
  PAR_TASK_TTL_MS: '20000',
  PAR_SIGNING_KEY_RETIRE_AFTER_MS: '20000',
  PAR_RUNNER_KEY_OVERLAP_MS: '3000',
  PAR_SIGNING_KEY_RELOAD_MS: '500',
};

describe('key rotation under load', () => {
  let system: System;
  let target: TargetServer;
  let redis: Redis;

  before(async () => {
    target = await startTargetServer();
    system = await startSystem({ workers: 2, cpEnv: CP_ENV });
    redis = connectRedis();
    // Workers start slowly on a loaded machine: stream only once they take jobs.
    await Promise.all(system.workers.map((w) => w.waitForOutput(/worker ready/, 60_000)));
  });

  after(async () => {
    redis.disconnect();
    await system.stop();
    await target.close();
  });

  test('two signing-key rotations and one identity rotation lose and refuse nothing', async () => {
    const before = (await readIdentity(system.configDir))!;
    const firstKey = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));

    // A steady stream (one task every SUBMIT_EVERY_MS) that runs until every rotation is done and
    // STEP more tasks were submitted after the last one, so each key signs part of the stream.
    const ids: string[] = [];
    let streaming = true;
    const submitting = (async () => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the main flow sets it false while this loop runs
      for (let i = 0; streaming || ids.length < MIN_TASKS; i++) {
        const view = await system.api.submitTask({
          runner: system.runnerName,
          action: 'com.datadoghq.http.request',
          inputs: { verb: 'GET', url: `${target.url}/health?n=${i}` },
        });
        ids.push(view.id);
        await new Promise((r) => setTimeout(r, SUBMIT_EVERY_MS));
      }
    })();
    const moreSubmitted = (n: number) => {
      const goal = ids.length + n;
      return waitUntil(() => (ids.length >= goal ? true : undefined), 120_000, `${goal} submissions`);
    };

    await moreSubmitted(STEP);
    const first = await rotateSigningKey(system, CP_ENV);
    assert.equal(first.previousKid, firstKey.kid);
    await moreSubmitted(STEP);
    const identity = await rotateIdentity(system);
    await moreSubmitted(STEP);
    const second = await rotateSigningKey(system, CP_ENV);
    assert.equal(second.previousKid, first.kid);
    await moreSubmitted(STEP);
    streaming = false;
    await submitting;
    const TASKS = ids.length;
    assert.ok(TASKS >= MIN_TASKS);

    const views = [];
    for (const id of ids) views.push(await system.api.waitForTask(id, 60_000));
    const failed = views.filter((v) => v.state !== 'succeeded');
    assert.deepEqual(
      failed.map((v) => `${v.id}: ${v.state} ${v.outcome?.error?.code ?? ''} created ${v.createdAt}`),
      [],
      system.runner
        .output()
        .split('\n')
        .filter((l) => /rotat|keys|warn|error/i.test(l))
        .slice(-40)
        .join('\n'),
    );
    for (let i = 0; i < TASKS; i++) {
      assert.equal(target.requests.filter((r) => r.url === `/health?n=${i}`).length, 1, `task n=${i} must reach the service exactly once`);
    }
    const events = await Promise.all(ids.map((id) => system.api.getTaskEvents(id)));
    for (const e of events) assert.equal(e.filter((x) => x.type === 'result.recorded').length, 1);

    // Tasks really carried the new kids: some were signed with each of the three keys.
    const kids = await Promise.all(
      ids.map(async (id) => {
        const jws = await redis.hget(keySpace(system.cpPrefix).task(id), 'jws');
        return (JSON.parse(Buffer.from(jws!.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
      }),
    );
    for (const kid of [firstKey.kid, first.kid, second.kid])
      assert.ok(
        kids.includes(kid),
        `some tasks must be signed with ${kid}: ${JSON.stringify([firstKey.kid, first.kid, second.kid])} ${JSON.stringify(kids)}`,
      );
    assert.equal(kids[kids.length - 1], second.kid);

    // The runner's config.yaml: new identity key, all three signing keys, two retirements, mode 0600.
    const now = (await readIdentity(system.configDir))!;
    assert.notDeepEqual(now.privateKey, before.privateKey);
    assert.equal(now.publicKey['kid'] ?? identity.kid, identity.kid);
    assert.equal(now.pendingIdentityKey, undefined);
    // The job tag key of the previous identity key stays (jobs tagged before the rotation still run), never the key itself.
    assert.ok(now.previousQueueKey && now.previousQueueKey.until > Date.now(), JSON.stringify(now.previousQueueKey));
    assert.ok(!JSON.stringify(now).includes(String(before.privateKey['d'])));
    assert.deepEqual(new Set(now.controlPlaneKeys.keys.map((k) => k['kid'])), new Set([firstKey.kid, first.kid, second.kid]));
    assert.equal(now.controlPlaneKeyRetirements?.[firstKey.kid]?.successor, first.kid);
    assert.equal(now.controlPlaneKeyRetirements[first.kid]?.successor, second.kid);
    assert.equal((await stat(identityPath(system.configDir))).mode & 0o777, 0o600);

    // After its retirement, a task signed with the first key is refused and never runs.
    await waitUntil(() => (Date.now() > first.previousNotAfter + 200 ? true : undefined), 30_000, 'the first key to retire');
    const signer = new TaskSigner(await importSigningKey(firstKey.privateJwk), firstKey.kid);
    const id = randomUUID();
    const signed = await signer.sign(
      {
        sub: id,
        aud: now.runnerId,
        org: now.orgId,
        action: 'com.datadoghq.http.request',
        inputs: { verb: 'GET', url: `${target.url}/health?retired=${id}` },
        timeoutMs: 5_000,
      },
      60_000,
    );
    await enqueueSignedTask(redis, system.cpPrefix, {
      taskId: id,
      runnerId: now.runnerId,
      orgId: now.orgId,
      action: 'com.datadoghq.http.request',
      signedTask: signed,
    });
    const view = await system.api.waitForTask(id, 30_000);
    assert.equal(view.outcome?.kind, 'rejected', JSON.stringify(view));
    assert.equal(view.outcome.error?.code, 'PAR_ERR_TASK_KEY_RETIRED');
    assert.equal(target.requests.filter((r) => r.url.includes(id)).length, 0);
  });

  test('a runner and worker running from PAR_RUNNER_IDENTITY (no config.yaml) follow a rotation too', async () => {
    // Replace the file-based runner and workers by env-based ones with the same identity.
    await Promise.all([system.runner, ...system.workers].map((p) => p.stop('SIGTERM', 5_000)));
    const identity = (await readIdentity(system.configDir))!;
    const emptyDir = await tempDir('kr-env');
    try {
      const env = {
        PAR_RUNNER_IDENTITY: encodeIdentity(identity),
        DD_PRIVATE_RUNNER_CONFIG_DIR: emptyDir.path,
        REDIS_URL: TEST_REDIS_URL,
        PAR_QUEUE_PREFIX: `${system.queuePrefix}:env`,
        ACTIONS_ALLOWLIST: 'com.datadoghq.http.request',
        PAR_RETRY_BACKOFF_MS: '100',
      };
      const adminPort = await freePort();
      const runner = startPar('runner-env', ['runner'], {
        ...env,
        DD_BASE_URL: system.cpUrl,
        PAR_RUNNER_ADMIN_PORT: String(adminPort),
        PAR_POLL_BACKOFF_MAX_MS: '300',
        PAR_PUBLISH_BACKOFF_MAX_MS: '300',
      });
      const worker = startPar('worker-env', ['worker'], env);
      try {
        await waitForHttpOk(`http://127.0.0.1:${adminPort}/readyz`, 60_000, runner);
        await worker.waitForOutput(/worker ready/, 60_000);
        const rotation = await rotateSigningKey(system, CP_ENV);
        // The control plane signs with the new key once the rotation's message reaches it (pub/sub,
        // later on a loaded machine): tasks until one carries the new kid, every one of them run.
        let submitted = 0;
        await waitUntil(
          async () => {
            submitted += 1;
            const view = await system.api.submitTask({
              runner: system.runnerName,
              action: 'com.datadoghq.http.request',
              inputs: { verb: 'GET', url: `${target.url}/health?env=1` },
            });
            const done = await system.api.waitForTask(view.id, 60_000);
            assert.equal(done.state, 'succeeded', `${JSON.stringify(done.outcome)}\n${worker.output().slice(-3000)}`);
            const jws = await redis.hget(keySpace(system.cpPrefix).task(view.id), 'jws');
            const { kid } = JSON.parse(Buffer.from(jws!.split('.')[0]!, 'base64url').toString()) as { kid: string };
            return kid === rotation.kid ? true : undefined;
          },
          30_000,
          `a task signed with the new key ${rotation.kid}`,
        );
        assert.equal(target.requests.filter((r) => r.url === '/health?env=1').length, submitted, 'each task ran once');
        // The worker holds no control-plane key (it checks the runner's job tag, keyed from the
        // identity both were started with): the task signed with the new key ran without it learning anything.
        assert.doesNotMatch(worker.output(), /PAR_ERR_TASK_SIGNATURE_INVALID/);
      } finally {
        await Promise.all([runner.stop('SIGTERM', 5_000), worker.stop('SIGTERM', 5_000)]);
      }
    } finally {
      await emptyDir.remove();
    }
  });
});
