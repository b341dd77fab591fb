/**
 * Hostile connection changes through the real processes (control plane, runner): a contributor
 * may use and rename connections but not aim them (credentialPath, baseUrl, kubeconfigPath);
 * an http connection with credentials is bound to a baseUrl; paths stay in the config dir; the
 * secret guard refuses secrets at any depth, in header templates, in URLs and DSNs, and what is
 * too deep to check. Every refused case asserts its code and that nothing was stored; at the end
 * no secret value is in any Redis key or process log, and every process is healthy.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import {
  ADMIN_API,
  connectionViewSchema,
  connectionsResponseSchema,
  createAppKeyResponseSchema,
  userViewSchema,
  type ConnectionView,
} from '../../src/contracts/admin-api.js';
import { TASKS_API } from '../../src/contracts/tasks-api.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { startSystem, type System } from '../helpers/system.js';
import { assertNothingLeaked, secretForms } from './exposure.js';

interface Answer {
  status: number;
  body: { code?: string; message?: string } & Record<string, unknown>;
}

let system: System;
let runnerId = '';
const keys: Record<'contributor' | 'editor', string> = { contributor: '', editor: '' };
const secrets: string[] = [];

/** A fresh secret value, remembered for the closing scan of Redis and logs. */
function secret(label: string): string {
  const value = `${label}S3cr3t${randomBytes(12).toString('hex')}`;
  secrets.push(value);
  return value;
}

async function call(method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, appKey: string, body?: unknown): Promise<Answer> {
  const res = await request(`${system.cpUrl}${path}`, {
    method,
    headers: { 'dd-application-key': appKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    // A string is sent as is (JSON.stringify itself overflows on very deep values).
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

const admin = (method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, body?: unknown): Promise<Answer> =>
  call(method, path, system.keys.appKey, body);

function expectRefused(res: Answer, status: number, code: string, mentions: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code);
  assert.ok((res.body.message ?? '').includes(mentions), `message names ${mentions}: ${res.body.message}`);
}

async function connections(): Promise<ConnectionView[]> {
  const res = await admin('GET', `${ADMIN_API.connections}?runnerId=${runnerId}`);
  return connectionsResponseSchema.parse(res.body).connections;
}

async function connection(id: string): Promise<ConnectionView> {
  return connectionViewSchema.parse((await admin('GET', ADMIN_API.connection(id))).body);
}

async function create(body: Record<string, unknown>, appKey = system.keys.appKey): Promise<Answer> {
  return call('POST', ADMIN_API.connections, appKey, { runnerId, name: `c-${randomBytes(3).toString('hex')}`, ...body });
}

/** Creates (as admin) and returns the view. */
async function created(body: Record<string, unknown>): Promise<ConnectionView> {
  const res = await create(body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return connectionViewSchema.parse(res.body);
}

/** A create that must be refused: nothing new may be stored. */
async function refusedCreate(
  body: Record<string, unknown>,
  status: number,
  code: string,
  mentions: string,
  appKey?: string,
): Promise<void> {
  const before = (await connections()).length;
  expectRefused(await create(body, appKey), status, code, mentions);
  assert.equal((await connections()).length, before, 'nothing was stored');
}

async function userWith(role: 'contributor' | 'editor'): Promise<string> {
  const user = userViewSchema.parse(
    (
      await admin('POST', ADMIN_API.users, {
        name: `${role} user`,
        email: `${role}-${randomBytes(3).toString('hex')}@example.test`,
        roles: ['standard'],
      })
    ).body,
  );
  const grant = await admin('PUT', ADMIN_API.runnerGrants(runnerId), { principal: { type: 'user', id: user.id }, role });
  assert.equal(grant.status, 200, JSON.stringify(grant.body));
  const key = await admin('POST', ADMIN_API.appKeys, {
    name: `${role}-key`,
    scopes: ['connections_read', 'connections_write', 'actions_run', 'on_prem_runner_read'],
    owner: { type: 'user', id: user.id },
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  return createAppKeyResponseSchema.parse(key.body).key;
}

function nest(depth: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let v: Record<string, unknown> = leaf;
  for (let i = 0; i < depth; i++) v = { level: v };
  return v;
}

before(async () => {
  system = await startSystem({ workers: 0 });
  const identity = await readIdentity(system.configDir);
  assert.ok(identity);
  runnerId = identity.runnerId;
  keys.contributor = await userWith('contributor');
  keys.editor = await userWith('editor');
});

after(async () => {
  await system.stop();
});

describe('connections: who may aim them (real control plane)', () => {
  it('a contributor cannot re-aim a connection at another credential file', async () => {
    const conn = await created({
      integration: 'http',
      credentialPath: 'credentials/api.json',
      settings: { baseUrl: 'https://api.example.test' },
    });
    const res = await call('PATCH', ADMIN_API.connection(conn.id), keys.contributor, { credentialPath: 'credentials/postgres.json' });
    expectRefused(res, 403, 'PAR_ERR_AUTH_FORBIDDEN', 'credentialPath');
    assert.ok((res.body.message ?? '').includes('editor access'));
    assert.equal((await connection(conn.id)).credentialPath, 'credentials/api.json', 'unchanged');
  });

  it('a contributor cannot move the baseUrl (where the token goes)', async () => {
    const conn = await created({
      integration: 'http',
      credentialPath: 'credentials/api.json',
      settings: { baseUrl: 'https://api.example.test', headers: [{ key: 'Authorization', value: 'Bearer {{ t }}' }] },
    });
    const res = await call('PATCH', ADMIN_API.connection(conn.id), keys.contributor, {
      settings: { baseUrl: 'http://127.0.0.1:9', headers: [{ key: 'Authorization', value: 'Bearer {{ t }}' }] },
    });
    expectRefused(res, 403, 'PAR_ERR_AUTH_FORBIDDEN', 'settings.baseUrl');
    assert.equal((await connection(conn.id)).settings['baseUrl'], 'https://api.example.test', 'unchanged');
  });

  it('a contributor cannot change a kubeconfigPath or context, nor remove the credential path', async () => {
    const kube = await created({ integration: 'kubernetes', settings: { kubeconfigPath: 'kube/config.yaml', context: 'a' } });
    expectRefused(
      await call('PATCH', ADMIN_API.connection(kube.id), keys.contributor, {
        settings: { kubeconfigPath: 'kube/other.yaml', context: 'a' },
      }),
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'settings.kubeconfigPath',
    );
    expectRefused(
      await call('PATCH', ADMIN_API.connection(kube.id), keys.contributor, {
        settings: { kubeconfigPath: 'kube/config.yaml', context: 'prod' },
      }),
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'settings.context',
    );
    const pg = await created({ integration: 'postgresql', credentialPath: 'credentials/pg.json' });
    expectRefused(
      await call('PATCH', ADMIN_API.connection(pg.id), keys.contributor, { credentialPath: null }),
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'credentialPath',
    );
    assert.deepEqual((await connection(kube.id)).settings, { kubeconfigPath: 'kube/config.yaml', context: 'a' });
    assert.equal((await connection(pg.id)).credentialPath, 'credentials/pg.json');
  });

  it('a contributor cannot create a connection that carries credentials, but can create one that does not', async () => {
    await refusedCreate(
      { integration: 'http', credentialPath: 'credentials/postgres.json', settings: { baseUrl: 'http://127.0.0.1:9' } },
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'editor access',
      keys.contributor,
    );
    await refusedCreate(
      { integration: 'kubernetes', settings: { kubeconfigPath: 'kube/config.yaml' } },
      403,
      'PAR_ERR_AUTH_FORBIDDEN',
      'editor access',
      keys.contributor,
    );
    const res = await create({ integration: 'http', settings: { baseUrl: 'https://public.example.test' } }, keys.contributor);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  it('a contributor may rename a connection, change its header templates and use it in a task', async () => {
    const conn = await created({
      integration: 'http',
      credentialPath: 'credentials/api.json',
      settings: { baseUrl: 'https://api.example.test' },
    });
    const renamed = await call('PATCH', ADMIN_API.connection(conn.id), keys.contributor, {
      name: `renamed-${randomBytes(2).toString('hex')}`,
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const headers = await call('PATCH', ADMIN_API.connection(conn.id), keys.contributor, {
      settings: { baseUrl: 'https://api.example.test', headers: { 'X-Api-Key': '{{ key }}' } },
    });
    assert.equal(headers.status, 200, JSON.stringify(headers.body));
    const task = await call('POST', TASKS_API.submit, keys.contributor, {
      runner: runnerId,
      action: 'com.datadoghq.http.request',
      inputs: { url: '/items' },
      connectionId: conn.id,
    });
    assert.equal(task.status, 201, JSON.stringify(task.body));
  });

  it('an editor may re-aim a connection', async () => {
    const conn = await created({
      integration: 'http',
      credentialPath: 'credentials/api.json',
      settings: { baseUrl: 'https://api.example.test' },
    });
    const res = await call('PATCH', ADMIN_API.connection(conn.id), keys.editor, {
      credentialPath: 'credentials/other.json',
      settings: { baseUrl: 'https://other.example.test/v2' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const view = await connection(conn.id);
    assert.equal(view.credentialPath, 'credentials/other.json');
    assert.equal(view.settings['baseUrl'], 'https://other.example.test/v2');
  });
});

describe('connections: shape rules (real control plane)', () => {
  it('an http connection with a credentialPath and no baseUrl is refused naming settings.baseUrl', async () => {
    await refusedCreate(
      { integration: 'http', credentialPath: 'credentials/api.json' },
      400,
      'PAR_ERR_REQUEST_INVALID',
      'settings.baseUrl',
    );
    await refusedCreate(
      {
        integration: 'http',
        credentialPath: 'credentials/api.json',
        settings: { headers: [{ key: 'Authorization', value: 'Bearer {{ t }}' }] },
      },
      400,
      'PAR_ERR_REQUEST_INVALID',
      'settings.baseUrl',
    );
    // ...and an update may not drop it either.
    const conn = await created({
      integration: 'http',
      credentialPath: 'credentials/api.json',
      settings: { baseUrl: 'https://api.example.test' },
    });
    expectRefused(
      await call('PATCH', ADMIN_API.connection(conn.id), keys.editor, { settings: {} }),
      400,
      'PAR_ERR_REQUEST_INVALID',
      'settings.baseUrl',
    );
    assert.equal((await connection(conn.id)).settings['baseUrl'], 'https://api.example.test');
  });

  it('a baseUrl must be an http(s) URL without userinfo', async () => {
    for (const baseUrl of ['file:///etc/passwd', 'gopher://127.0.0.1:70/', 'not a url', 42]) {
      await refusedCreate(
        { integration: 'http', credentialPath: 'credentials/api.json', settings: { baseUrl } },
        400,
        'PAR_ERR_REQUEST_INVALID',
        'settings.baseUrl',
      );
    }
    const password = secret('url');
    // Userinfo is a secret: the guard refuses it before the shape rules look.
    await refusedCreate(
      { integration: 'http', credentialPath: 'credentials/api.json', settings: { baseUrl: `https://ops:${password}@api.example.test` } },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.baseUrl',
    );
  });

  it('credential and kubeconfig paths that leave the config dir are refused', async () => {
    for (const credentialPath of ['/etc/passwd', '../outside.json', 'credentials/../../x', '~/x', 'C:\\x']) {
      await refusedCreate({ integration: 'postgresql', credentialPath }, 400, 'PAR_ERR_REQUEST_INVALID', 'credentialPath');
    }
    for (const kubeconfigPath of ['/root/.kube/config', '../kube', 'kube/../../../etc/kubernetes/admin.conf']) {
      await refusedCreate(
        { integration: 'kubernetes', settings: { kubeconfigPath } },
        400,
        'PAR_ERR_REQUEST_INVALID',
        'settings.kubeconfigPath',
      );
    }
  });

  it('unknown fields are refused naming them (the integration cannot be patched)', async () => {
    await refusedCreate({ integration: 'http', settings: {}, target: 'x' }, 400, 'PAR_ERR_REQUEST_INVALID', 'target: unknown field');
    const conn = await created({ integration: 'http', settings: { baseUrl: 'https://api.example.test' } });
    expectRefused(
      await admin('PATCH', ADMIN_API.connection(conn.id), { integration: 'script' }),
      400,
      'PAR_ERR_REQUEST_INVALID',
      'integration: unknown field',
    );
    assert.equal((await connection(conn.id)).integration, 'http');
  });
});

describe('connections: the secret guard (real control plane)', () => {
  const base = { integration: 'http', credentialPath: 'credentials/api.json' };
  const settings = (extra: Record<string, unknown>): Record<string, unknown> => ({ baseUrl: 'https://api.example.test', ...extra });

  it('refuses secret-looking keys at any depth', async () => {
    for (const key of ['pwd', 'pass', 'db_password', 'apiKey', 'api_key', 'Authorization', 'bearer', 'cookie', 'sshKey', 'privateKey']) {
      await refusedCreate(
        { ...base, settings: settings({ extra: { [key]: secret(key) } }) },
        400,
        'PAR_ERR_SECRET_REFUSED',
        `settings.extra.${key}`,
      );
    }
    await refusedCreate(
      { ...base, settings: settings({ deep: nest(40, { token: secret('deep') }) }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      '.token',
    );
  });

  it('refuses literal secrets in header and URL-parameter templates, keeps the documented template forms', async () => {
    await refusedCreate(
      { ...base, settings: settings({ headers: [{ key: 'Authorization', value: secret('hdr') }] }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.headers.0.value',
    );
    await refusedCreate(
      { ...base, settings: settings({ headers: [{ key: 'Authorization', value: `Bearer ${secret('glued')}{{ t }}` }] }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.headers.0.value',
    );
    await refusedCreate(
      { ...base, settings: settings({ headers: { 'X-Trace': `{{ t }}${secret('tail')}` } }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.headers.X-Trace',
    );
    await refusedCreate(
      { ...base, settings: settings({ urlParams: [{ key: 'api_key', value: secret('param') }] }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.urlParams.0.value',
    );
    await refusedCreate(
      { ...base, settings: settings({ nested: { headers: [{ key: 'Cookie', value: `session=${secret('cookie')}` }] } }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.nested.headers.0.value',
    );
    await refusedCreate(
      { ...base, settings: settings({ headers: [{ key: 'X-Whatever', value: `Bearer ${secret('bearer')}` }] }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.headers.0.value',
    );
    const ok = await create({
      ...base,
      settings: settings({ headers: [{ key: 'Authorization', value: 'Bearer {{ token }}' }], urlParams: { api_key: '{{ key }}' } }),
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  it('refuses userinfo in DSNs and URLs, private keys and known token shapes anywhere', async () => {
    await refusedCreate(
      { integration: 'postgresql', settings: { dsn: `postgres://app:${secret('dsn')}@db.internal/app` } },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.dsn',
    );
    await refusedCreate(
      { integration: 'postgresql', settings: { conninfo: `host=db password=${secret('libpq')}` } },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.conninfo',
    );
    await refusedCreate(
      { ...base, settings: settings({ notes: [`see https://u:${secret('list')}@h/`] }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.notes.0',
    );
    await refusedCreate(
      { integration: 'script', settings: { ca: `-----BEGIN RSA PRIVATE KEY-----\n${secret('pem')}\n-----END RSA PRIVATE KEY-----` } },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.ca',
    );
    await refusedCreate(
      { ...base, settings: settings({ note: `sk_live_${secret('stripe')}` }) },
      400,
      'PAR_ERR_SECRET_REFUSED',
      'settings.note',
    );
  });

  it('refuses what is too deep to check, before anything looks inside', async () => {
    await refusedCreate(
      { ...base, settings: settings({ deep: nest(70, { password: secret('toodeep') }) }) },
      400,
      'PAR_ERR_REQUEST_INVALID',
      'nested deeper than 64',
    );
    const conn = await created({ ...base, settings: settings({}) });
    expectRefused(
      await admin(
        'PATCH',
        ADMIN_API.connection(conn.id),
        `{"settings":{"baseUrl":"https://api.example.test","deep":${'{"level":'.repeat(5_000)}{"a":1}${'}'.repeat(5_000)}}}`,
      ),
      400,
      'PAR_ERR_REQUEST_INVALID',
      'nested deeper than 64',
    );
    expectRefused(
      await admin('PATCH', ADMIN_API.connection(conn.id), { settings: settings({ deep: nest(30, { secret: secret('patch') }) }) }),
      400,
      'PAR_ERR_SECRET_REFUSED',
      '.secret',
    );
    assert.deepEqual((await connection(conn.id)).settings, settings({}), 'unchanged');
  });

  it('no secret value reached Redis or any log, and every process is healthy', async () => {
    assert.ok(secrets.length >= 20);
    await assertNothingLeaked(
      system,
      secrets.flatMap((s) => secretForms(s)),
    );
  });
});
