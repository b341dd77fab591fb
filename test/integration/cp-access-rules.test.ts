/**
 * The access rules around the matrix: secrets are refused and never stored, in-use refusals name
 * what uses the runner or connection, revocations count from the next call, a deleted runner's
 * identity stops working at once on every control-plane process, key minting cannot escalate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_API,
  apiKeysResponseSchema,
  appKeysResponseSchema,
  connectionViewSchema,
  connectionsResponseSchema,
  createApiKeyResponseSchema,
  grantsResponseSchema,
  meResponseSchema,
  tasksResponseSchema,
} from '../../src/contracts/admin-api.js';
import { RUNNER_API } from '../../src/contracts/runner-api.js';
import { TASKS_API } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { buildApp } from '../../src/control-plane/app.js';
import { createControlPlaneDeps } from '../../src/control-plane/deps.js';
import { silentLogger, startHarness, type Harness } from './control-plane-harness.js';
import { AdminClient, expectError, expectStatus, keyHeaders } from './cp-access-fixture.js';

let h: Harness;
let admin: AdminClient;

before(async () => {
  h = await startHarness('access-rules');
  admin = new AdminClient(h);
});

after(async () => {
  await h.close();
});

const post = (url: string, body: unknown, headers = h.appHeaders()) => h.request('POST', url, { headers, body });

describe('connections never take a secret', () => {
  it('refuses secret-named keys anywhere, literal sensitive headers, and `credentials`; stores nothing', async () => {
    const runner = await h.enroll();
    const base = { name: 'api', runnerId: runner.runnerId, integration: 'http' };
    const refused: [string, Record<string, unknown>, string][] = [
      ['password in settings', { ...base, settings: { password: 'hunter2' } }, 'settings.password'],
      ['nested apiKey', { ...base, settings: { auth: { apiKey: 'k' } } }, 'settings.auth.apiKey'],
      ['private key', { ...base, settings: { privateKey: '-----BEGIN' } }, 'settings.privateKey'],
      ['tokenValue', { ...base, settings: { tokenValue: 'abc' } }, 'settings.tokenValue'],
      ['credentials at the top', { ...base, credentials: { username: 'u', password: 'p' } }, 'credentials'],
      [
        'literal Authorization header',
        { ...base, settings: { headers: { Authorization: 'Bearer abc123' } } },
        'settings.headers.Authorization',
      ],
      [
        'literal api key header (pair list)',
        { ...base, settings: { headers: [{ key: 'X-Api-Key', value: 'abc' }] } },
        'settings.headers.0.value',
      ],
    ];
    for (const [what, body, field] of refused) {
      const res = await post(ADMIN_API.connections, body);
      expectError(res, 400, 'PAR_ERR_SECRET_REFUSED', what);
      const message = (res.body as { message: string }).message;
      assert.ok(message.includes(field), `${what}: names the field (${message})`);
      assert.doesNotMatch(message, /hunter2|abc123|BEGIN/, `${what}: never echoes the value`);
    }
    const list = connectionsResponseSchema.parse(
      (await h.request('GET', `${ADMIN_API.connections}?runnerId=${runner.runnerId}`, { headers: h.appHeaders() })).body,
    );
    assert.deepEqual(list.connections, [], 'nothing was stored');

    const ok = await post(ADMIN_API.connections, {
      ...base,
      settings: { baseUrl: 'https://api.example.test', headers: { Authorization: 'Bearer {{ apiToken }}' } },
      credentialPath: 'credentials/api.json',
    });
    expectStatus(ok, 201, 'header templates are fine');
    const created = connectionViewSchema.parse(ok.body);
    assert.equal(created.credentialPath, 'credentials/api.json');

    expectError(
      await h.request('PATCH', ADMIN_API.connection(created.id), { headers: h.appHeaders(), body: { settings: { secret: 's' } } }),
      400,
      'PAR_ERR_SECRET_REFUSED',
      'patch with a secret',
    );
    for (const path of ['/etc/passwd', '../outside.json', 'credentials/../../x.json']) {
      expectError(
        await post(ADMIN_API.connections, { ...base, name: 'p', credentialPath: path }),
        400,
        'PAR_ERR_REQUEST_INVALID',
        `credentialPath ${path}`,
      );
    }
    expectError(await post(ADMIN_API.connections, { ...base, integration: 'ftp' }), 400, 'PAR_ERR_REQUEST_INVALID', 'unknown integration');
    expectError(await post(ADMIN_API.connections, base), 409, 'PAR_ERR_CONNECTION_NAME_TAKEN', 'name taken on the runner');

    const patched = await h.request('PATCH', ADMIN_API.connection(created.id), {
      headers: h.appHeaders(),
      body: { name: 'api-2', credentialPath: null },
    });
    expectStatus(patched, 200, 'patch');
    const view = connectionViewSchema.parse(patched.body);
    assert.equal(view.name, 'api-2');
    assert.equal(view.credentialPath, undefined);
    assert.ok(view.updatedAt >= view.createdAt);
  });
});

describe('in-use refusals', () => {
  it('deleting a runner with connections is refused naming them; ?force=true deletes both', async () => {
    const runner = await h.enroll();
    const connectionId = await admin.connection(runner.runnerId, 'db-main');
    const refused = await h.request('DELETE', ADMIN_API.runner(runner.runnerId), { headers: h.appHeaders() });
    expectError(refused, 409, 'PAR_ERR_RUNNER_IN_USE', 'runner in use');
    assert.match((refused.body as { message: string }).message, /db-main/);
    expectStatus(
      await h.request('DELETE', `${ADMIN_API.runner(runner.runnerId)}?force=true`, { headers: h.appHeaders() }),
      204,
      'forced delete',
    );
    expectError(
      await h.request('GET', ADMIN_API.connection(connectionId), { headers: h.appHeaders() }),
      404,
      'PAR_ERR_NOT_FOUND',
      'its connection is gone',
    );
    expectError(
      await h.request('GET', ADMIN_API.runner(runner.runnerId), { headers: h.appHeaders() }),
      404,
      'PAR_ERR_NOT_FOUND',
      'runner gone',
    );
    // The name is free again.
    await h.enroll(runner.name);
  });

  it('deleting a connection that a queued task uses is refused naming the task; once it finished, it goes', async () => {
    const runner = await h.enroll();
    const connectionId = await admin.connection(runner.runnerId, 'busy');
    const task = await h.submit(runner, { connectionId, inputs: { url: '/busy' } });
    const refused = await h.request('DELETE', ADMIN_API.connection(connectionId), { headers: h.appHeaders() });
    expectError(refused, 409, 'PAR_ERR_CONNECTION_IN_USE', 'queued task');
    assert.match((refused.body as { message: string }).message, new RegExp(task.id));
    const [delivery] = await h.dequeue(runner);
    assert.ok(delivery);
    expectError(
      await h.request('DELETE', ADMIN_API.connection(connectionId), { headers: h.appHeaders() }),
      409,
      'PAR_ERR_CONNECTION_IN_USE',
      'leased task',
    );
    expectStatus(await h.publish(runner, delivery.taskId, delivery.leaseToken), 200, 'publish');
    expectStatus(
      await h.request('DELETE', ADMIN_API.connection(connectionId), { headers: h.appHeaders() }),
      204,
      'delete after the task finished',
    );
  });
});

describe('runner deletion ends its identity at once, on every process', () => {
  it('the next dequeue is 401 PAR_ERR_AUTH_RUNNER_UNKNOWN, also on a second control plane whose key cache was warm', async () => {
    const runner = await h.enroll();
    const other = await createControlPlaneDeps({ config: h.config, redis: h.redis, logger: silentLogger, now: () => h.now() });
    const otherApp = buildApp(other.deps);
    await otherApp.ready();
    try {
      const dequeueOn = async (app: typeof otherApp) => {
        const res = await app.inject({
          method: 'POST',
          url: RUNNER_API.dequeue,
          headers: await runner.headers(),
          payload: { max: 1, waitMs: 0 },
        });
        return { statusCode: res.statusCode, body: JSON.parse(res.body) as unknown };
      };
      expectStatus(await dequeueOn(otherApp), 200, 'warm the other process cache');
      expectStatus(await dequeueOn(h.app), 200, 'warm this process cache');
      expectStatus(await h.request('DELETE', ADMIN_API.runner(runner.runnerId), { headers: h.appHeaders() }), 204, 'delete');
      expectError(await dequeueOn(h.app), 401, 'PAR_ERR_AUTH_RUNNER_UNKNOWN', 'this process');
      expectError(await dequeueOn(otherApp), 401, 'PAR_ERR_AUTH_RUNNER_UNKNOWN', 'the other process');
      const hb = await h.request('POST', RUNNER_API.heartbeat, { headers: await runner.headers(), body: { leases: [] } });
      expectError(hb, 401, 'PAR_ERR_AUTH_RUNNER_UNKNOWN', 'heartbeat');
    } finally {
      await otherApp.close();
      await other.close();
    }
  });

  it('its open tasks, queued or leased, fail with PAR_ERR_RUNNER_DELETED instead of waiting forever', async () => {
    const runner = await h.enroll();
    const leased = await h.submit(runner);
    const [delivery] = await h.dequeue(runner);
    assert.equal(delivery?.taskId, leased.id);
    const queued = await h.submit(runner);
    const done = await h.submit(runner);
    const [d2] = await h.dequeue(runner);
    assert.ok(d2);
    expectStatus(await h.publish(runner, d2.taskId, d2.leaseToken), 200, 'one task finishes first');
    const finishedId = d2.taskId;
    expectStatus(await h.request('DELETE', `${ADMIN_API.runner(runner.runnerId)}?force=true`, { headers: h.appHeaders() }), 204, 'delete');
    for (const id of [leased.id, queued.id, done.id].filter((t) => t !== finishedId)) {
      const view = await h.getTask(id);
      assert.equal(view.state, 'failed', id);
      assert.equal(view.outcome?.error?.code, 'PAR_ERR_RUNNER_DELETED');
    }
    assert.equal((await h.getTask(finishedId)).state, 'succeeded', 'a finished task keeps its result');
    assert.equal(await h.redis.zscore(h.deps.ks.leases, leased.id), null, 'no lease left for the sweeper to requeue');
  });
});

describe('keys', () => {
  it('a revoked API key can no longer enroll; the list shows it revoked, never the key', async () => {
    const created = createApiKeyResponseSchema.parse((await post(ADMIN_API.apiKeys, { name: 'ci' })).body);
    const keyPair = await generateSigningKeyPair();
    const enroll = (name: string) =>
      post(RUNNER_API.enroll, { name, publicKey: keyPair.publicJwk }, { 'dd-api-key': created.key, ...h.appHeaders() });
    expectStatus(await enroll('with-new-key'), 201, 'new API key enrolls');
    expectStatus(await h.request('DELETE', ADMIN_API.apiKey(created.id), { headers: h.appHeaders() }), 204, 'revoke');
    expectError(await enroll('after-revoke'), 401, 'PAR_ERR_AUTH_API_KEY_INVALID', 'revoked API key');
    const listed = apiKeysResponseSchema.parse((await h.request('GET', ADMIN_API.apiKeys, { headers: h.appHeaders() })).body);
    const entry = listed.apiKeys.find((k) => k.id === created.id);
    assert.ok(entry?.revokedAt, 'listed as revoked');
    assert.ok(!JSON.stringify(listed).includes(created.key), 'the key is never listed');
  });

  it('a standard user mints keys for itself with at most its own scopes; not for others, not for org admin work', async () => {
    const userId = await admin.user('minter');
    const own = await admin.appKey({ type: 'user', id: userId }, ['on_prem_runner_read', 'actions_run']);
    const headers = keyHeaders(own.key);
    const me = meResponseSchema.parse((await h.request('GET', ADMIN_API.me, { headers })).body);
    assert.deepEqual(me.principal, { type: 'user', id: userId, name: 'minter' });
    assert.deepEqual(me.roles, ['standard']);

    expectStatus(await post(ADMIN_API.appKeys, { name: 'narrower', scopes: ['actions_run'] }, headers), 201, 'subset for itself');
    expectError(
      await post(ADMIN_API.appKeys, { name: 'wider', scopes: ['connections_write'] }, headers),
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'wider than its own',
    );
    expectError(
      await post(
        ADMIN_API.appKeys,
        { name: 'theirs', scopes: ['actions_run'], owner: { type: 'user', id: h.context.adminUserId } },
        headers,
      ),
      403,
      'PAR_ERR_AUTH_SCOPE_MISSING',
      'for another principal',
    );
    expectError(
      await post(ADMIN_API.users, { name: 'x', email: 'x@example.test' }, headers),
      403,
      'PAR_ERR_AUTH_SCOPE_MISSING',
      'create user',
    );
    expectError(await post(ADMIN_API.apiKeys, { name: 'x' }, headers), 403, 'PAR_ERR_AUTH_SCOPE_MISSING', 'create API key');

    // With user_access_manage but without the admin role, org management is still refused.
    const manager = await admin.appKey({ type: 'user', id: userId }, ['user_access_manage']);
    expectError(
      await post(ADMIN_API.users, { name: 'x', email: 'x@example.test' }, keyHeaders(manager.key)),
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'standard user managing users',
    );

    const mine = appKeysResponseSchema.parse((await h.request('GET', ADMIN_API.appKeys, { headers })).body);
    assert.ok(
      mine.appKeys.every((k) => k.owner.id === userId),
      'sees only its own keys',
    );
    expectStatus(await h.request('DELETE', ADMIN_API.appKey(own.id), { headers }), 204, 'revokes its own key');
    expectError(await h.request('GET', ADMIN_API.me, { headers }), 403, 'PAR_ERR_AUTH_APP_KEY_REVOKED', 'own key revoked');
  });

  it('a read_only user cannot enroll runners even with the write scope', async () => {
    const userId = await admin.user('reader', ['read_only']);
    const key = await admin.appKey({ type: 'user', id: userId }, ['on_prem_runner_write']);
    const keyPair = await generateSigningKeyPair();
    const res = await post(
      RUNNER_API.enroll,
      { name: 'nope', publicKey: keyPair.publicJwk },
      { 'dd-api-key': h.apiKey, ...keyHeaders(key.key) },
    );
    expectError(res, 403, 'PAR_ERR_AUTH_FORBIDDEN', 'read_only enroll');
  });

  it('a service account that enrolls a runner becomes its editor', async () => {
    const sa = await admin.serviceAccount('deployer');
    const key = await admin.appKey({ type: 'service_account', id: sa }, ['on_prem_runner_write', 'on_prem_runner_read']);
    const keyPair = await generateSigningKeyPair();
    const res = await post(
      RUNNER_API.enroll,
      { name: 'sa-runner', publicKey: keyPair.publicJwk },
      { 'dd-api-key': h.apiKey, ...keyHeaders(key.key) },
    );
    expectStatus(res, 201, 'sa enroll');
    const runnerId = (res.body as { runnerId: string }).runnerId;
    const grants = grantsResponseSchema.parse(
      (await h.request('GET', ADMIN_API.runnerGrants(runnerId), { headers: keyHeaders(key.key) })).body,
    );
    assert.deepEqual(grants.grants, [{ principal: { type: 'service_account', id: sa }, role: 'editor' }]);
  });
});

describe('tasks', () => {
  it("a connection of another runner is refused; a runner's task list is newest first and limited", async () => {
    const a = await h.enroll();
    const b = await h.enroll();
    const connOnB = await admin.connection(b.runnerId, 'on-b');
    const res = await post(TASKS_API.submit, {
      runner: a.runnerId,
      connectionId: connOnB,
      action: 'com.datadoghq.http.request',
      inputs: { url: '/x' },
    });
    expectError(res, 400, 'PAR_ERR_CONNECTION_RUNNER_MISMATCH', 'connection of another runner');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await h.submit(a, { inputs: { url: `/t${i}` } })).id);
      h.advance(5); // distinct createdAt, deterministic order
    }
    const listed = tasksResponseSchema.parse(
      (await h.request('GET', `${ADMIN_API.tasks}?runnerId=${a.runnerId}&limit=2`, { headers: h.appHeaders() })).body,
    );
    assert.deepEqual(
      listed.tasks.map((t) => t.id),
      [ids[2], ids[1]],
    );
    const none = tasksResponseSchema.parse(
      (await h.request('GET', `${ADMIN_API.tasks}?runnerId=${b.runnerId}`, { headers: h.appHeaders() })).body,
    );
    assert.deepEqual(none.tasks, []);
  });
});
