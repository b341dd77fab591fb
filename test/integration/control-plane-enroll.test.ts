/** Control plane: bootstrap, keys, enrollment and the runner list (real Redis, inject()). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controlPlaneConfigSchema } from '../../src/config/control-plane.js';
import { RUNNER_API, jwksSchema } from '../../src/contracts/runner-api.js';
import { TASKS_API, runnerViewSchema } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { createControlPlaneDeps } from '../../src/control-plane/deps.js';
import { addApiKey, addAppKey, createOrg, createUser, hashKey, SCOPES } from '../../src/control-plane/store/credentials.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';
import { silentLogger, startHarness } from './control-plane-harness.js';

test('bootstrap generates admin keys once, stores only their hashes, and ensures configured keys idempotently', async () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('cp-bootstrap');
  try {
    const config = controlPlaneConfigSchema.parse({ keyPrefix: prefix });
    const first = await createControlPlaneDeps({ config, redis, logger: silentLogger });
    await first.close();
    assert.ok(first.generatedKeys, 'keys generated on first start');
    const { apiKey, appKey } = first.generatedKeys;
    const second = await createControlPlaneDeps({ config, redis, logger: silentLogger });
    await second.close();
    assert.equal(second.generatedKeys, undefined, 'not generated again');
    assert.equal(second.orgId, first.orgId);
    assert.equal(second.adminUserId, first.adminUserId);
    assert.deepEqual(second.deps.jwks, first.deps.jwks, 'the signing key is kept across starts');

    const ks = keySpace(prefix);
    assert.equal(await redis.exists(ks.apiKey(hashKey(apiKey))), 1);
    assert.equal(await redis.exists(ks.appKey(hashKey(appKey))), 1);
    // No plaintext key anywhere under the prefix.
    const dump = JSON.stringify(
      await Promise.all(
        (await redis.keys(`${prefix}*`)).map(async (k) => {
          const type = await redis.type(k);
          return type === 'hash' ? redis.hgetall(k) : type === 'string' ? redis.get(k) : type === 'set' ? redis.smembers(k) : null;
        }),
      ),
    );
    assert.ok(!dump.includes(apiKey) && !dump.includes(appKey));

    // Configured keys are added (idempotently) beside the generated ones.
    const configured = controlPlaneConfigSchema.parse({ keyPrefix: prefix, adminApiKey: 'a'.repeat(32), adminAppKey: 'b'.repeat(40) });
    for (let i = 0; i < 2; i += 1) {
      const ctx = await createControlPlaneDeps({ config: configured, redis, logger: silentLogger });
      await ctx.close();
      assert.equal(ctx.generatedKeys, undefined);
    }
    assert.equal(await redis.scard(ks.orgApiKeys(first.orgId)), 2);
    assert.equal(await redis.scard(ks.userAppKeys(first.adminUserId)), 2);
  } finally {
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
});

test('enrollment with good keys registers the runner with its Editor and returns the control-plane keys', async () => {
  const h = await startHarness('enroll');
  try {
    const runner = await h.enroll('edge-1');
    const e = runner.enrollment;
    assert.equal(e.name, 'edge-1');
    assert.equal(e.orgId, h.context.orgId);
    assert.equal(e.urn, `urn:par:runner:${e.orgId}:${e.runnerId}`);
    const keys = await h.request('GET', RUNNER_API.keys);
    assert.equal(keys.statusCode, 200);
    assert.deepEqual(jwksSchema.parse(keys.body), e.controlPlaneKeys);
    assert.ok(
      e.controlPlaneKeys.keys.every((k) => !('d' in k)),
      'no private part in the JWKS',
    );

    assert.deepEqual(await h.redis.hgetall(h.deps.ks.runnerGrants(e.runnerId)), { [`user:${h.context.adminUserId}`]: 'editor' });

    const list = await h.request('GET', TASKS_API.runners, { headers: h.appHeaders() });
    assert.equal(list.statusCode, 200);
    const runners = (list.body as { runners: unknown[] }).runners.map((r) => runnerViewSchema.parse(r));
    assert.deepEqual(
      runners.map((r) => r.id),
      [e.runnerId],
    );
    assert.deepEqual(runners[0]?.allowlist, ['com.datadoghq.http.*']);
    assert.equal(runners[0].lastSeenAt, undefined, 'not seen before its first runner call');

    await h.dequeue(runner);
    const one = await h.request('GET', `${TASKS_API.runners}/${e.runnerId}`, { headers: h.appHeaders() });
    assert.equal(one.statusCode, 200);
    const view = runnerViewSchema.parse(one.body);
    assert.equal(view.name, 'edge-1');
    assert.ok(view.lastSeenAt !== undefined && Math.abs(view.lastSeenAt - Date.now()) < 5_000, 'lastSeenAt set by the runner call');
    assert.ok(!('publicKey' in (one.body as object)));

    const missing = await h.request('GET', `${TASKS_API.runners}/nope`, { headers: h.appHeaders() });
    assert.equal(missing.statusCode, 404);
    assert.equal((missing.body as { code: string }).code, 'PAR_ERR_NOT_FOUND');
  } finally {
    await h.close();
  }
});

test('enrollment is refused with the right code for bad keys, missing scope, another org, a taken name, a bad body', async () => {
  const h = await startHarness('enroll-refused');
  try {
    const { publicJwk, privateJwk } = await generateSigningKeyPair();
    const body = { name: 'edge-1', publicKey: publicJwk };
    const enroll = (headers: Record<string, string>, payload: unknown = body) =>
      h.request('POST', RUNNER_API.enroll, { headers, body: payload });
    const expect = async (p: ReturnType<typeof enroll>, status: number, code: string, what: string): Promise<string> => {
      const res = await p;
      assert.equal(res.statusCode, status, `${what}: ${JSON.stringify(res.body)}`);
      const b = res.body as { code: string; message: string; retryable: boolean };
      assert.equal(b.code, code, what);
      assert.equal(typeof b.message, 'string');
      assert.equal(b.retryable, false);
      return b.message;
    };

    await expect(enroll({ 'dd-application-key': h.appKey }), 401, 'PAR_ERR_AUTH_API_KEY_INVALID', 'missing API key');
    await expect(
      enroll({ 'dd-api-key': 'x'.repeat(32), 'dd-application-key': h.appKey }),
      401,
      'PAR_ERR_AUTH_API_KEY_INVALID',
      'wrong API key',
    );
    await expect(
      enroll({ 'dd-api-key': h.apiKey, 'dd-application-key': 'y'.repeat(40) }),
      403,
      'PAR_ERR_AUTH_APP_KEY_INVALID',
      'wrong app key',
    );
    await expect(enroll({ 'dd-api-key': h.apiKey }), 403, 'PAR_ERR_AUTH_APP_KEY_INVALID', 'missing app key');

    const ks = h.deps.ks;
    const readOnlyKey = 'r'.repeat(40);
    await addAppKey(h.redis, ks, { orgId: h.context.orgId, userId: h.context.adminUserId, scopes: [SCOPES.runnersRead] }, readOnlyKey);
    await expect(enroll({ 'dd-api-key': h.apiKey, 'dd-application-key': readOnlyKey }), 403, 'PAR_ERR_AUTH_SCOPE_MISSING', 'missing scope');

    const otherOrg = await createOrg(h.redis, ks, 'other');
    const otherUser = await createUser(h.redis, ks, otherOrg, 'mallory');
    const otherAppKey = 'o'.repeat(40);
    await addAppKey(h.redis, ks, { orgId: otherOrg, userId: otherUser, scopes: [SCOPES.runnerWrite] }, otherAppKey);
    await expect(
      enroll({ 'dd-api-key': h.apiKey, 'dd-application-key': otherAppKey }),
      403,
      'PAR_ERR_AUTH_APP_KEY_INVALID',
      'app key of another org',
    );

    const good = { 'dd-api-key': h.apiKey, 'dd-application-key': h.appKey };
    assert.equal((await enroll(good)).statusCode, 201);
    await expect(enroll(good), 409, 'PAR_ERR_ENROLL_NAME_TAKEN', 'duplicate name');

    // The same name is free in another org.
    const otherApiKey = 'p'.repeat(32);
    await addApiKey(h.redis, ks, otherOrg, otherApiKey);
    assert.equal((await enroll({ 'dd-api-key': otherApiKey, 'dd-application-key': otherAppKey })).statusCode, 201);

    const nameMsg = await expect(enroll(good, { name: 'has space', publicKey: publicJwk }), 400, 'PAR_ERR_REQUEST_INVALID', 'bad name');
    assert.match(nameMsg, /name/);
    const keyMsg = await expect(enroll(good, { name: 'edge-2' }), 400, 'PAR_ERR_REQUEST_INVALID', 'no key');
    assert.match(keyMsg, /publicKey/);
    await expect(enroll(good, { name: 'edge-3', publicKey: privateJwk }), 400, 'PAR_ERR_REQUEST_INVALID', 'private key sent');
    await expect(
      enroll(good, { name: 'edge-4', publicKey: { kty: 'RSA', n: 'x', e: 'AQAB' } }),
      400,
      'PAR_ERR_REQUEST_INVALID',
      'not Ed25519',
    );
    await expect(
      h.request('POST', RUNNER_API.enroll, { headers: { ...good, 'content-type': 'application/json' }, body: '{not json' }),
      400,
      'PAR_ERR_REQUEST_INVALID',
      'malformed JSON',
    );

    const list = await h.request('GET', TASKS_API.runners, { headers: { 'dd-application-key': otherAppKey } });
    assert.equal((list.body as { code: string }).code, 'PAR_ERR_AUTH_SCOPE_MISSING', 'runners_read needed to list');
  } finally {
    await h.close();
  }
});

test('health, unknown routes and the error shape', async () => {
  const h = await startHarness('health');
  try {
    const health = await h.request('GET', '/healthz');
    assert.equal(health.statusCode, 200);
    assert.deepEqual(health.body, { status: 'ok', redis: 'ok' });
    const missing = await h.request('GET', '/api/v1/nothing-here?secret=1');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(Object.keys(missing.body as object).sort(), ['code', 'message', 'retryable']);
    assert.ok(!(missing.body as { message: string }).message.includes('secret'));
  } finally {
    await h.close();
  }
});
