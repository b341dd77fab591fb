/**
 * Hostile corpus, key rotation: through the real control plane, runner and worker processes,
 * tasks signed by unknown or retired keys, key-fetch answers forged by a man in the middle, and
 * identity rotations with forged, replayed or misbound proofs. Each case asserts its code, that
 * the target service (or the stored identity) saw nothing, and at the end that no private key is
 * in any log or Redis key and every process is still healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Redis } from 'ioredis';
import { SignJWT, type JWK } from 'jose';
import { freePort } from '../../src/cli/local-redis.js';
import { KEY_ROTATION_API, IDENTITY_PROOF_TYP, type KeyAnswer } from '../../src/contracts/control-plane-keys.js';
import { RUNNER_API, RUNNER_TOKEN_AUDIENCE } from '../../src/contracts/runner-api.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { loadOrCreateSigningKey } from '../../src/control-plane/store/signing-key.js';
import { enqueueSignedTask } from '../../src/control-plane/store/tasks.js';
import { signEndorsement } from '../../src/crypto/key-endorsement.js';
import { generateSigningKeyPair, importSigningKey, type KeyPairJwk } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { TaskSigner } from '../../src/crypto/task-signature.js';
import type { ErrorCode } from '../../src/errors/codes.js';
import { ADMIN_ROTATE_IDENTITY_PATH, adminToken } from '../../src/runner/admin-identity-route.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { type RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { rotateSigningKey } from '../helpers/key-rotation.js';
import { startPar, type ParProcess } from '../helpers/processes.js';
import { connectRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSystem, waitForHttpOk, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';
import { assertNoSecretInLogs, assertNothingLeaked, secretForms } from './exposure.js';

const CP_ENV = {
  PAR_TASK_TTL_MS: '8000',
  PAR_SIGNING_KEY_RETIRE_AFTER_MS: '8000',
  PAR_RUNNER_KEY_OVERLAP_MS: '1500',
  PAR_SIGNING_KEY_RELOAD_MS: '500',
};
const ACTION = 'com.datadoghq.http.request';

type ProxyMode = (answer: KeyAnswer) => Promise<KeyAnswer> | KeyAnswer;

describe('key rotation: hostile cases', () => {
  let system: System;
  let target: TargetServer;
  let redis: Redis;
  let identity: RunnerIdentity;
  let retired: KeyPairJwk;
  let retiredNotAfter: number;
  const privateParts: string[] = [];
  // A second runner that reaches the control plane through a man in the middle who rewrites key answers.
  let proxy: Server;
  let proxyMode: ProxyMode | undefined;
  let tamperedAnswers = 0;
  let mitmRunner: ParProcess;
  let mitmDir: { path: string; remove(): Promise<void> };
  let mitmIdentity: RunnerIdentity;
  let mitmAdminUrl: string;

  before(async () => {
    target = await startTargetServer();
    system = await startSystem({ workers: 1, cpEnv: CP_ENV });
    redis = connectRedis();
    identity = (await readIdentity(system.configDir))!;
    privateParts.push(String(identity.privateKey['d']));
    // One rotation up front: its outgoing key retires while the cases run.
    retired = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));
    privateParts.push(String(retired.privateJwk.d));
    retiredNotAfter = (await rotateSigningKey(system, CP_ENV)).previousNotAfter;

    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const headers: Record<string, string> = {};
          for (const h of ['authorization', 'content-type', 'accept', 'dd-api-key', 'dd-application-key'])
            if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
          const body = Buffer.concat(chunks);
          const upstream = await request(`${system.cpUrl}${req.url ?? '/'}`, {
            method: req.method as 'GET' | 'POST',
            headers,
            ...(body.length > 0 ? { body } : {}),
            headersTimeout: 70_000,
            bodyTimeout: 70_000,
          });
          let text = await upstream.body.text();
          if (req.url === KEY_ROTATION_API.runnerKeys && upstream.statusCode === 200 && proxyMode) {
            text = JSON.stringify(await proxyMode(JSON.parse(text) as KeyAnswer));
            tamperedAnswers++;
          }
          res.writeHead(upstream.statusCode, { 'content-type': 'application/json' });
          res.end(text);
        })().catch(() => {
          res.statusCode = 502;
          res.end();
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    mitmDir = await tempDir('kr-mitm');
    const adminPort = await freePort();
    mitmAdminUrl = `http://127.0.0.1:${adminPort}`;
    mitmRunner = startPar('runner-mitm', ['runner', '--with-api-key'], {
      DD_BASE_URL: proxyUrl,
      DD_API_KEY: system.keys.apiKey,
      DD_APP_KEY: system.keys.appKey,
      RUNNER_NAME: `mitm-${randomBytes(3).toString('hex')}`,
      ACTIONS_ALLOWLIST: ACTION,
      DD_PRIVATE_RUNNER_CONFIG_DIR: mitmDir.path,
      REDIS_URL: TEST_REDIS_URL,
      PAR_QUEUE_PREFIX: `${system.queuePrefix}2`,
      PAR_RUNNER_ADMIN_PORT: String(adminPort),
      PAR_POLL_BACKOFF_MAX_MS: '300',
      PAR_PUBLISH_BACKOFF_MAX_MS: '300',
      PAR_RUNNER_KEYS_REFRESH_MS: '3600000',
    });
    await waitForHttpOk(`${mitmAdminUrl}/readyz`, 60_000, mitmRunner);
    mitmIdentity = (await readIdentity(mitmDir.path))!;
    privateParts.push(String(mitmIdentity.privateKey['d']));
  });

  after(async () => {
    await mitmRunner.stop('SIGTERM', 5_000);
    await new Promise((r) => proxy.close(r));
    redis.disconnect();
    await system.stop();
    await mitmDir.remove();
    await target.close();
  });

  async function attacker(): Promise<KeyPairJwk> {
    const key = await generateSigningKeyPair();
    privateParts.push(String(key.privateJwk.d));
    return key;
  }

  async function signedTask(runner: RunnerIdentity, key: KeyPairJwk, kid = key.kid): Promise<{ id: string; jws: string }> {
    const id = randomUUID();
    const signer = new TaskSigner(await importSigningKey(key.privateJwk), kid);
    const jws = await signer.sign(
      {
        sub: id,
        aud: runner.runnerId,
        org: runner.orgId,
        action: ACTION,
        inputs: { verb: 'GET', url: `${target.url}/health?task=${id}` },
        timeoutMs: 5_000,
      },
      60_000,
    );
    return { id, jws };
  }

  async function handOverAndExpect(runner: RunnerIdentity, task: { id: string; jws: string }, code: ErrorCode): Promise<void> {
    await enqueueSignedTask(redis, system.cpPrefix, {
      taskId: task.id,
      runnerId: runner.runnerId,
      orgId: runner.orgId,
      action: ACTION,
      signedTask: task.jws,
    });
    const view = await system.api.waitForTask(task.id, 30_000);
    assert.equal(view.outcome?.kind, 'rejected', JSON.stringify(view));
    assert.equal(view.outcome.error?.code, code);
    assert.equal(target.requests.filter((r) => r.url.includes(task.id)).length, 0, 'the service must never see the task');
  }

  // --- tasks signed with keys the runner must not trust -------------------------------------

  test('a task signed by a key the control plane never had is refused (the runner asks, learns nothing)', async () => {
    const key = await attacker();
    await handOverAndExpect(identity, await signedTask(identity, key), 'PAR_ERR_TASK_SIGNATURE_INVALID');
    assert.ok(!(await readIdentity(system.configDir))!.controlPlaneKeys.keys.some((k) => k['kid'] === key.kid));
  });

  test('a task claiming the active kid but signed by another key (kid collision) is refused', async () => {
    const active = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));
    await handOverAndExpect(identity, await signedTask(identity, await attacker(), active.kid), 'PAR_ERR_TASK_SIGNATURE_INVALID');
  });

  // --- a man in the middle rewriting the key-fetch answer ------------------------------------

  /** The MITM runner's log lines saying why it did not trust a key answer. */
  function mitmVerdicts(): { refused: number; untrusted: number } {
    const out = mitmRunner.output();
    return {
      refused: out.split("refused the control plane's key answer").length - 1,
      untrusted: out.split('no trusted key endorses').length - 1,
    };
  }

  async function mitmCase(
    expect: 'refused' | 'untrusted',
    mode: (attackerKey: KeyPairJwk, answer: KeyAnswer) => Promise<KeyAnswer> | KeyAnswer,
    alsoKid?: () => Promise<string>,
  ): Promise<void> {
    const key = await attacker();
    proxyMode = (answer) => mode(key, answer);
    const served = tamperedAnswers;
    const verdicts = mitmVerdicts();
    try {
      const before = await readIdentity(mitmDir.path);
      // A task under the attacker's (unknown) kid makes the runner fetch keys: the MITM answers.
      await handOverAndExpect(mitmIdentity, await signedTask(mitmIdentity, key), 'PAR_ERR_TASK_SIGNATURE_INVALID');
      if (alsoKid)
        await handOverAndExpect(mitmIdentity, await signedTask(mitmIdentity, key, await alsoKid()), 'PAR_ERR_TASK_SIGNATURE_INVALID');
      assert.ok(tamperedAnswers > served, 'the runner must have fetched a tampered answer');
      assert.ok(mitmVerdicts()[expect] > verdicts[expect], `the runner must log the answer as ${expect}`);
      const afterwards = (await readIdentity(mitmDir.path))!;
      assert.ok(!afterwards.controlPlaneKeys.keys.some((k) => k['x'] === key.publicJwk.x), 'the forged key must not be trusted');
      assert.deepEqual(afterwards.controlPlaneKeys, before?.controlPlaneKeys);
      assert.deepEqual(afterwards.controlPlaneKeyRetirements ?? {}, before?.controlPlaneKeyRetirements ?? {});
    } finally {
      proxyMode = undefined;
    }
  }

  test('key answer with an injected, unendorsed key: not trusted', async () => {
    await mitmCase('untrusted', (key, answer) => ({
      ...answer,
      active: key.kid,
      keys: [...answer.keys, { kid: key.kid, jwk: { ...key.publicJwk, kty: 'OKP' }, status: 'active', createdAt: Date.now() }],
    }));
  });

  test('key answer with a key endorsed by itself: not trusted', async () => {
    await mitmCase('untrusted', async (key, answer) => {
      const endorsement = await signEndorsement(await importSigningKey(key.privateJwk), key.kid, key, Date.now() + 1e9, Date.now());
      return {
        ...answer,
        keys: [
          ...answer.keys,
          { kid: key.kid, jwk: { ...key.publicJwk, kty: 'OKP' }, status: 'active', createdAt: Date.now(), endorsement },
        ],
      };
    });
  });

  test('key answer with an endorsement that names the trusted key as signer but is forged: whole answer refused', async () => {
    await mitmCase('refused', async (key, answer) => {
      const forged = await signEndorsement(await importSigningKey(key.privateJwk), answer.active, key, Date.now() + 1e9, Date.now());
      return {
        ...answer,
        keys: [
          ...answer.keys,
          { kid: key.kid, jwk: { ...key.publicJwk, kty: 'OKP' }, status: 'active', createdAt: Date.now(), endorsement: forged },
        ],
      };
    });
  });

  test("key answer replacing a genuine key's material under its kid (kid collision): whole answer refused", async () => {
    await mitmCase(
      'refused',
      (key, answer) => ({
        ...answer,
        keys: answer.keys.map((e) => (e.kid === answer.active ? { ...e, jwk: { ...key.publicJwk, kty: 'OKP' } } : e)),
      }),
      async () => (await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix))).kid,
    );
  });

  test('key answer with a genuine endorsement re-pointed at the attacker key: whole answer refused', async () => {
    // A fresh rotation: its endorsement is signed by a key this runner trusts (the one it pinned).
    const rotation = await rotateSigningKey(system, CP_ENV);
    assert.ok(mitmIdentity.controlPlaneKeys.keys.some((k) => k['kid'] === rotation.previousKid));
    await mitmCase('refused', (key, answer) => ({
      ...answer,
      keys: answer.keys.map((e) => (e.kid === answer.active ? { ...e, kid: key.kid, jwk: { ...key.publicJwk, kty: 'OKP' } } : e)),
    }));
  });

  // --- runner identity rotation ---------------------------------------------------------

  interface Enrolled {
    runnerId: string;
    key: KeyPairJwk;
  }

  async function enrollIdentity(): Promise<Enrolled> {
    const key = await attacker();
    const res = await request(`${system.cpUrl}${RUNNER_API.enroll}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'dd-api-key': system.keys.apiKey, 'dd-application-key': system.keys.appKey },
      body: JSON.stringify({ name: `kr-${randomBytes(4).toString('hex')}`, publicKey: key.publicJwk, allowlist: [ACTION] }),
    });
    const body = (await res.body.json()) as { runnerId: string };
    assert.equal(res.statusCode, 201, JSON.stringify(body));
    return { runnerId: body.runnerId, key };
  }

  async function call(
    path: string,
    method: 'GET' | 'POST',
    runnerId: string,
    tokenKey: KeyPairJwk,
    body?: unknown,
  ): Promise<{ status: number; body: { code?: string } & Record<string, unknown> }> {
    const token = await new RunnerTokenMinter(runnerId, await importSigningKey(tokenKey.privateJwk)).token();
    const res = await request(`${system.cpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as { code?: string } & Record<string, unknown> };
  }

  async function storedKey(runnerId: string): Promise<string | null> {
    return redis.hget(keySpace(system.cpPrefix).runner(runnerId), 'publicKey');
  }

  async function rotationBody(
    r: Enrolled,
    next: KeyPairJwk,
    overrides: { iss?: string; oldKid?: string; signWith?: KeyPairJwk; newKid?: string } = {},
  ): Promise<{ publicKey: JWK; proof: string }> {
    const signWith = overrides.signWith ?? next;
    const proof = await new SignJWT({ oldKid: overrides.oldKid ?? r.key.kid, newKid: overrides.newKid ?? next.kid })
      .setProtectedHeader({ alg: 'EdDSA', kid: next.kid, typ: IDENTITY_PROOF_TYP })
      .setIssuer(overrides.iss ?? r.runnerId)
      .setAudience(RUNNER_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('2m')
      .setJti(randomBytes(18).toString('base64url'))
      .sign(await importSigningKey(signWith.privateJwk));
    return { publicKey: next.publicJwk, proof };
  }

  async function expectRotationRefused(r: Enrolled, tokenKey: KeyPairJwk, body: unknown, code: ErrorCode): Promise<void> {
    const stored = await storedKey(r.runnerId);
    const res = await call(KEY_ROTATION_API.rotateIdentity, 'POST', r.runnerId, tokenKey, body);
    assert.equal(res.body.code, code, JSON.stringify(res.body));
    assert.ok(res.status >= 400 && res.status < 500);
    assert.equal(await storedKey(r.runnerId), stored, 'the stored identity must not change');
  }

  test('identity rotation with a proof not signed by the new key is refused', async () => {
    const r = await enrollIdentity();
    const next = await attacker();
    await expectRotationRefused(r, r.key, await rotationBody(r, next, { signWith: await attacker() }), 'PAR_ERR_IDENTITY_ROTATION_INVALID');
  });

  test('identity rotation requested with a token of the wrong old key is refused', async () => {
    const r = await enrollIdentity();
    const next = await attacker();
    await expectRotationRefused(r, await attacker(), await rotationBody(r, next), 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID');
  });

  test('identity rotation with a proof bound to another runner or to a key that is not current is refused', async () => {
    const r = await enrollIdentity();
    const other = await enrollIdentity();
    const next = await attacker();
    await expectRotationRefused(r, r.key, await rotationBody(r, next, { iss: other.runnerId }), 'PAR_ERR_IDENTITY_ROTATION_INVALID');
    await expectRotationRefused(r, r.key, await rotationBody(r, next, { oldKid: other.key.kid }), 'PAR_ERR_IDENTITY_ROTATION_INVALID');
    await expectRotationRefused(r, r.key, await rotationBody(r, next, { newKid: other.key.kid }), 'PAR_ERR_IDENTITY_ROTATION_INVALID');
  });

  test('identity rotation carrying a private key is refused, and the private part is stored nowhere', async () => {
    const r = await enrollIdentity();
    const next = await attacker();
    const body = await rotationBody(r, next);
    await expectRotationRefused(r, r.key, { ...body, publicKey: next.privateJwk }, 'PAR_ERR_IDENTITY_ROTATION_INVALID');
  });

  test('replaying a genuine rotation request, and rotating with the previous key during the overlap, are refused; the old key stops after the overlap', async () => {
    const r = await enrollIdentity();
    const next = await attacker();
    const body = await rotationBody(r, next);
    const token = await new RunnerTokenMinter(r.runnerId, await importSigningKey(r.key.privateJwk)).token();
    const send = async () => {
      const res = await request(`${system.cpUrl}${KEY_ROTATION_API.rotateIdentity}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: (await res.body.json()) as { code?: string; previousKeyUntil?: number } };
    };
    const ok = await send();
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // The very same request again (same token, same proof): refused.
    const replay = await send();
    assert.equal(replay.body.code, 'PAR_ERR_IDENTITY_ROTATION_INVALID');
    assert.ok(replay.status === 401);
    // During the overlap the old key still authenticates, but may not rotate again.
    assert.equal((await call(KEY_ROTATION_API.runnerKeys, 'GET', r.runnerId, r.key)).status, 200);
    await expectRotationRefused(
      { runnerId: r.runnerId, key: next },
      r.key,
      await rotationBody({ runnerId: r.runnerId, key: next }, await attacker()),
      'PAR_ERR_IDENTITY_ROTATION_INVALID',
    );
    // After the overlap: the old key is refused, the new one works.
    await waitUntil(() => (Date.now() > (ok.body.previousKeyUntil ?? 0) + 100 ? true : undefined), 10_000, 'the overlap to end');
    const old = await call(KEY_ROTATION_API.runnerKeys, 'GET', r.runnerId, r.key);
    assert.equal(old.status, 401);
    assert.equal(old.body.code, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID');
    assert.equal((await call(KEY_ROTATION_API.runnerKeys, 'GET', r.runnerId, next)).status, 200);
  });

  test("the runner's loopback rotation endpoint refuses a caller without the current private key", async () => {
    const before = await readIdentity(system.configDir);
    const forged = await adminToken(identity.runnerId, await importSigningKey((await attacker()).privateJwk));
    for (const authorization of [undefined, `Bearer ${forged}`]) {
      const res = await request(`${system.runnerAdminUrl}${ADMIN_ROTATE_IDENTITY_PATH}`, {
        method: 'POST',
        headers: authorization ? { authorization } : {},
      });
      const body = (await res.body.json()) as { code?: string };
      assert.equal(res.statusCode, 401);
      assert.equal(body.code, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID');
    }
    assert.deepEqual((await readIdentity(system.configDir))?.privateKey, before?.privateKey);
  });

  // --- retirement ------------------------------------------------------------------------

  test('a task signed with the retired key after its retirement is refused with PAR_ERR_TASK_KEY_RETIRED', async () => {
    // A genuine task under the new key first: the runner learns the rotation (and the retirement time).
    const fresh = await system.api.submitTask({
      runner: system.runnerName,
      action: ACTION,
      inputs: { verb: 'GET', url: `${target.url}/health?fresh=1` },
    });
    assert.equal((await system.api.waitForTask(fresh.id, 30_000)).state, 'succeeded');
    await waitUntil(() => (Date.now() > retiredNotAfter + 100 ? true : undefined), 30_000, 'the old key to retire');
    await handOverAndExpect(identity, await signedTask(identity, retired), 'PAR_ERR_TASK_KEY_RETIRED');
    // The retired private key is gone from the control plane's Redis.
    const stored = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));
    assert.notEqual(stored.kid, retired.kid);
  });

  test('no private key in any log or Redis key; every process healthy', async () => {
    const secrets = privateParts.flatMap((d) => secretForms(d));
    await assertNothingLeaked(system, secrets);
    for (const p of [mitmRunner]) assert.equal(p.proc.exitCode, null);
    const res = await request(`${mitmAdminUrl}/readyz`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assertNoSecretInLogs({ ...system, cp: mitmRunner, runner: mitmRunner, workers: [] }, secrets);
  });
});
