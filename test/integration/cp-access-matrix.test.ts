/**
 * The whole access matrix: every kind of principal (org admin; standard users with an editor,
 * contributor or viewer grant directly, through a team, through a role; service accounts; no
 * grant; a read_only user whose grant is capped at viewer) x every runner-scoped route, checking
 * allow/deny and the error body. Then the key failures (wrong scope, revoked, none, bogus) on
 * every route. Real Redis, the real app through inject().
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_API,
  RUNNER_ACCESS_LEVELS,
  adminRunnerViewSchema,
  runnersResponseSchema,
  type PrincipalRef,
  type RunnerAccess,
} from '../../src/contracts/admin-api.js';
import { TASKS_API, taskEventsPath } from '../../src/contracts/tasks-api.js';
import { startHarness, type Harness, type InjectResult } from './control-plane-harness.js';
import { AdminClient, expectError, expectStatus, keyHeaders } from './cp-access-fixture.js';

type Level = RunnerAccess | 'none';

interface Subject {
  label: string;
  key: string;
  /** The runner on which this subject has `level` through its grant path. */
  runnerId: string;
  level: Level;
  /** Gives the subject the same access on another runner, the same way. */
  grantOn(runnerId: string): Promise<void>;
}

interface Ctx {
  runnerId: string;
  connectionId: string;
  taskId: string;
  headers: Record<string, string>;
}

interface Route {
  name: string;
  needed: RunnerAccess;
  /** Status when allowed. */
  ok: number;
  run(c: Ctx): Promise<InjectResult>;
  /** Extra checks on an allowed answer. */
  check?(res: InjectResult, s: Subject): void;
}

let h: Harness;
let admin: AdminClient;
let seq = 0;
const next = (): number => ++seq;

const rank = (l: Level): number => (l === 'none' ? -1 : RUNNER_ACCESS_LEVELS.indexOf(l));

const routes: Route[] = [
  {
    name: 'GET /runners',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', ADMIN_API.runners, { headers: c.headers }),
  },
  {
    name: 'GET /runners/:id',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', ADMIN_API.runner(c.runnerId), { headers: c.headers }),
    check: (res, s) => assert.equal(adminRunnerViewSchema.parse(res.body).access, s.level, `${s.label}: access field`),
  },
  {
    name: 'GET /runners/:id/grants',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', ADMIN_API.runnerGrants(c.runnerId), { headers: c.headers }),
  },
  {
    name: 'GET /runners/:id/stats',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', `${ADMIN_API.runner(c.runnerId)}/stats?window=15m`, { headers: c.headers }),
  },
  {
    name: 'PUT /runners/:id/grants',
    needed: 'editor',
    ok: 200,
    run: (c) =>
      h.request('PUT', ADMIN_API.runnerGrants(c.runnerId), {
        headers: c.headers,
        body: { principal: { type: 'role', id: 'read_only' }, role: 'viewer' },
      }),
  },
  {
    name: 'POST /connections',
    needed: 'contributor',
    ok: 201,
    run: (c) =>
      h.request('POST', ADMIN_API.connections, {
        headers: c.headers,
        body: { name: `c-${next()}`, runnerId: c.runnerId, integration: 'http', settings: { baseUrl: 'http://127.0.0.1:9/' } },
      }),
  },
  {
    name: 'GET /connections?runnerId',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', `${ADMIN_API.connections}?runnerId=${c.runnerId}`, { headers: c.headers }),
  },
  {
    name: 'GET /connections/:id',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', ADMIN_API.connection(c.connectionId), { headers: c.headers }),
  },
  {
    // Harmless fields (the name) are contributor work; re-aiming (baseUrl, credentialPath...) is editor work.
    name: 'PATCH /connections/:id (name)',
    needed: 'contributor',
    ok: 200,
    run: (c) => h.request('PATCH', ADMIN_API.connection(c.connectionId), { headers: c.headers, body: { name: `renamed-${next()}` } }),
  },
  {
    name: 'PATCH /connections/:id (baseUrl)',
    needed: 'editor',
    ok: 200,
    run: (c) =>
      h.request('PATCH', ADMIN_API.connection(c.connectionId), {
        headers: c.headers,
        body: { settings: { baseUrl: `http://127.0.0.1:9/${next()}` } },
      }),
  },
  {
    name: 'DELETE /connections/:id',
    needed: 'contributor',
    ok: 204,
    run: async (c) =>
      h.request('DELETE', ADMIN_API.connection(await admin.connection(c.runnerId, `doomed-${next()}`)), { headers: c.headers }),
  },
  {
    name: 'POST /tasks (no connection)',
    needed: 'contributor',
    ok: 201,
    run: (c) =>
      h.request('POST', TASKS_API.submit, {
        headers: c.headers,
        body: { runner: c.runnerId, action: 'com.datadoghq.http.request', inputs: { url: 'http://example.test/' } },
      }),
  },
  {
    name: 'POST /tasks (with connection)',
    needed: 'contributor',
    ok: 201,
    run: (c) =>
      h.request('POST', TASKS_API.submit, {
        headers: c.headers,
        body: { runner: c.runnerId, connectionId: c.connectionId, action: 'com.datadoghq.http.request', inputs: { url: '/x' } },
      }),
  },
  { name: 'GET /tasks/:id', needed: 'viewer', ok: 200, run: (c) => h.request('GET', TASKS_API.get(c.taskId), { headers: c.headers }) },
  {
    name: 'GET /tasks/:id/events',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', taskEventsPath(c.taskId), { headers: c.headers }),
  },
  {
    name: 'GET /tasks?runnerId',
    needed: 'viewer',
    ok: 200,
    run: (c) => h.request('GET', `${ADMIN_API.tasks}?runnerId=${c.runnerId}`, { headers: c.headers }),
  },
  {
    name: 'DELETE /runners/:id',
    needed: 'editor',
    ok: 204,
    // A disposable runner on which the subject gets the same access the same way.
    run: async (c) => h.request('DELETE', ADMIN_API.runner(c.runnerId), { headers: c.headers }),
  },
];

const subjects: Subject[] = [];
const fixtures = new Map<string, { connectionId: string; taskId: string }>();

async function fixtureFor(runnerId: string): Promise<{ connectionId: string; taskId: string }> {
  let f = fixtures.get(runnerId);
  if (!f) {
    const connectionId = await admin.connection(runnerId, `fixture-${next()}`);
    const task = await h.submit(runnerId, { connectionId, inputs: { url: '/fixture' } });
    f = { connectionId, taskId: task.id };
    fixtures.set(runnerId, f);
  }
  return f;
}

before(async () => {
  h = await startHarness('access-matrix');
  admin = new AdminClient(h);
  const levels: RunnerAccess[] = ['editor', 'contributor', 'viewer'];
  const userRunner = (await h.enroll('r-user')).runnerId;
  const teamRunner = (await h.enroll('r-team')).runnerId;
  const saRunner = (await h.enroll('r-sa')).runnerId;

  subjects.push({ label: 'org admin (bootstrap key)', key: h.appKey, runnerId: userRunner, level: 'editor', grantOn: async () => {} });

  for (const level of levels) {
    const direct = await admin.user(`direct-${level}`);
    const directRef: PrincipalRef = { type: 'user', id: direct };
    await admin.grant(userRunner, directRef, level);
    subjects.push({
      label: `user with direct ${level} grant`,
      key: (await admin.appKey({ type: 'user', id: direct })).key,
      runnerId: userRunner,
      level,
      grantOn: (r) => admin.grant(r, directRef, level),
    });

    const member = await admin.user(`member-${level}`);
    const team = await admin.team(`team-${level}`, [member]);
    const teamRef: PrincipalRef = { type: 'team', id: team };
    await admin.grant(teamRunner, teamRef, level);
    subjects.push({
      label: `user in a team with ${level}`,
      key: (await admin.appKey({ type: 'user', id: member })).key,
      runnerId: teamRunner,
      level,
      grantOn: (r) => admin.grant(r, teamRef, level),
    });

    // Role grants reach every standard user, so each level gets its own runner.
    const roleRunner = (await h.enroll(`r-role-${level}`)).runnerId;
    const roleRef: PrincipalRef = { type: 'role', id: 'standard' };
    await admin.grant(roleRunner, roleRef, level);
    const roleUser = await admin.user(`role-${level}`);
    subjects.push({
      label: `standard user through a role grant of ${level}`,
      key: (await admin.appKey({ type: 'user', id: roleUser })).key,
      runnerId: roleRunner,
      level,
      grantOn: (r) => admin.grant(r, roleRef, level),
    });

    const sa = await admin.serviceAccount(`sa-${level}`);
    const saRef: PrincipalRef = { type: 'service_account', id: sa };
    await admin.grant(saRunner, saRef, level);
    subjects.push({
      label: `service account app key with ${level}`,
      key: (await admin.appKey({ type: 'service_account', id: sa })).key,
      runnerId: saRunner,
      level,
      grantOn: (r) => admin.grant(r, saRef, level),
    });
  }

  const nobody = await admin.user('no-grant');
  subjects.push({
    label: 'standard user without any grant',
    key: (await admin.appKey({ type: 'user', id: nobody })).key,
    runnerId: userRunner,
    level: 'none',
    grantOn: async () => {},
  });

  const readOnly = await admin.user('read-only', ['read_only']);
  const readOnlyRef: PrincipalRef = { type: 'user', id: readOnly };
  await admin.grant(userRunner, readOnlyRef, 'contributor');
  subjects.push({
    label: 'read_only user with a contributor grant (capped at viewer)',
    key: (await admin.appKey({ type: 'user', id: readOnly })).key,
    runnerId: userRunner,
    level: 'viewer',
    grantOn: (r) => admin.grant(r, readOnlyRef, 'contributor'),
  });
});

after(async () => {
  await h.close();
});

describe('access matrix: principal x route', () => {
  it('covers every principal kind and route', () => {
    assert.equal(subjects.length, 15);
    assert.equal(routes.length, 17);
  });

  for (let i = 0; i < 15; i++) {
    it(`subject #${i + 1}: every route allows or denies as its access says`, async () => {
      const s = subjects[i];
      assert.ok(s, 'subject set up');
      for (const route of routes) {
        let runnerId: string = s.runnerId;
        if (route.name.startsWith('DELETE /runners')) {
          runnerId = (await h.enroll(`doomed-${next()}`)).runnerId;
          await s.grantOn(runnerId);
        }
        // A runner with connections refuses deletion (tested apart): the disposable one has none.
        const f = runnerId === s.runnerId ? await fixtureFor(runnerId) : { connectionId: 'none', taskId: 'none' };
        const res = await route.run({ runnerId, ...f, headers: keyHeaders(s.key) });
        const what: string = `${s.label}: ${route.name}`;
        if (route.name === 'GET /runners') {
          expectStatus(res, 200, what);
          const mine: { access: string } | undefined = runnersResponseSchema.parse(res.body).runners.find((r) => r.id === runnerId);
          if (s.level === 'none') assert.equal(mine, undefined, `${what}: runner hidden`);
          else assert.equal(mine?.access, s.level, `${what}: listed with its access`);
        } else if (rank(s.level) >= rank(route.needed)) {
          expectStatus(res, route.ok, what);
          route.check?.(res, s);
        } else if (s.level === 'none') {
          expectError(res, 404, 'PAR_ERR_NOT_FOUND', what);
        } else {
          expectError(res, 403, 'PAR_ERR_AUTH_FORBIDDEN', what);
          assert.match((res.body as { message: string }).message, new RegExp(`${route.needed} access`), `${what}: says what is needed`);
        }
        if (route.name.startsWith('DELETE /runners') && rank(s.level) < rank('editor'))
          await h.request('DELETE', ADMIN_API.runner(runnerId), { headers: h.appHeaders() });
      }
    });
  }
});

describe('access matrix: key failures on every route', () => {
  it('a key without the route scope gets 403 PAR_ERR_AUTH_SCOPE_MISSING, before any access check', async () => {
    const editor = subjects.find((s) => s.label === 'user with direct editor grant');
    assert.ok(editor);
    const meRes = await h.request('GET', ADMIN_API.me, { headers: keyHeaders(editor.key) });
    const userId = (meRes.body as { principal: { id: string } }).principal.id;
    const narrow = await admin.appKey({ type: 'user', id: userId }, ['user_access_manage']);
    const f = await fixtureFor(editor.runnerId);
    for (const route of routes) {
      const res = await route.run({ runnerId: editor.runnerId, ...f, headers: keyHeaders(narrow.key) });
      expectError(res, 403, 'PAR_ERR_AUTH_SCOPE_MISSING', `narrow key: ${route.name}`);
    }
  });

  it('a revoked key gets 403 PAR_ERR_AUTH_APP_KEY_REVOKED on every route, from the next call on', async () => {
    const userId = await admin.user('soon-revoked');
    const key = await admin.appKey({ type: 'user', id: userId });
    const runnerId = subjects[0]!.runnerId;
    await admin.grant(runnerId, { type: 'user', id: userId }, 'editor');
    expectStatus(await h.request('GET', ADMIN_API.runner(runnerId), { headers: keyHeaders(key.key) }), 200, 'before revocation');
    await admin.revokeAppKey(key.id);
    const f = await fixtureFor(runnerId);
    for (const route of routes) {
      const res = await route.run({ runnerId, ...f, headers: keyHeaders(key.key) });
      expectError(res, 403, 'PAR_ERR_AUTH_APP_KEY_REVOKED', `revoked key: ${route.name}`);
    }
  });

  it('no key or an unknown key gets 403 PAR_ERR_AUTH_APP_KEY_INVALID on every route', async () => {
    const runnerId = subjects[0]!.runnerId;
    const f = await fixtureFor(runnerId);
    for (const route of routes) {
      expectError(await route.run({ runnerId, ...f, headers: {} }), 403, 'PAR_ERR_AUTH_APP_KEY_INVALID', `no key: ${route.name}`);
      expectError(
        await route.run({ runnerId, ...f, headers: keyHeaders('f'.repeat(40)) }),
        403,
        'PAR_ERR_AUTH_APP_KEY_INVALID',
        `unknown key: ${route.name}`,
      );
    }
  });
});
