/**
 * Hostile input against every control-plane route, through a real control-plane process: bad
 * bodies (wrong types, nesting 100 / 3,000 / 100,000 deep, oversize, unknown fields, not JSON,
 * wrong content type), bad ids in the URL, bad query strings and bad auth headers. None may be
 * answered 500: each gets a 4xx with a registered error code, the specific ones below get their
 * stated code, and the process is healthy (and logged no failed request) afterwards.
 *
 * The route list is read from the app itself (routeTable, filled by an onRoute hook in buildApp),
 * so a route added later is swept without touching this file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { SignJWT } from 'jose';
import { routeTable, type RouteEntry } from '../../src/control-plane/app.js';
import { RUNNER_API, enrollResponseSchema } from '../../src/contracts/runner-api.js';
import { TASKS_API, taskViewSchema } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { ERROR_CODES } from '../../src/errors/codes.js';
import { startHarness } from '../integration/control-plane-harness.js';
import { uniquePrefix } from '../helpers/redis.js';
import { releaseTestResources, startControlPlaneProcess } from '../helpers/system.js';
import type { ParProcess } from '../helpers/processes.js';

interface Answer {
  status: number;
  code?: string;
  message?: string;
  text: string;
}

const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
const base = uniquePrefix('cp-sweep');
let url = '';
let proc: ParProcess;
let routes: readonly RouteEntry[] = [];
let runnerToken = '';
let runnerId = '';
let taskId = '';
let runnerKey: Awaited<ReturnType<typeof importSigningKey>>;

async function send(
  method: string,
  path: string,
  options: { body?: string | Buffer; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const text = await res.body.text();
  let code: string | undefined;
  let message: string | undefined;
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === 'string') code = parsed.code;
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON (the web page)
  }
  return { status: res.statusCode, code, message, text };
}

/**
 * An oversize body. The request declares the oversize length but writes only its first KiB and
 * waits: the server must answer 413 from the declared length alone, and since the client is not
 * writing when the server closes, no reset can discard the answer in flight. (Writing all of it
 * raced the server's close on a loaded machine.)
 */
function sendOversize(method: string, path: string, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${path}`,
      {
        method,
        agent: false,
        timeout: 30_000,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let parsed: { code?: string; message?: string } = {};
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, code: parsed.code, message: parsed.message, text });
          req.destroy();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer to an oversize body`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    req.on('close', () =>
      setTimeout(() => reject(new Error(`${method} ${path}: connection closed without an answer to an oversize body`)), 1_000),
    );
    req.write(body.subarray(0, 1024));
  });
}

/** Admin keys plus a valid runner token, so each request gets past auth wherever it can. */
function authHeaders(route: RouteEntry): Record<string, string> {
  const h: Record<string, string> = { 'dd-api-key': keys.apiKey, 'dd-application-key': keys.appKey };
  // On the enroll route a bearer token is an enrollment token; elsewhere it is the runner's JWT.
  if (route.url !== RUNNER_API.enroll) h['authorization'] = `Bearer ${runnerToken}`;
  return h;
}

/** The route's URL with a well-formed id that names nothing (or a real task for the result route). */
function pathOf(route: RouteEntry, id: string = randomUUID()): string {
  return route.url.replace(/:[A-Za-z]+/g, encodeURIComponent(id));
}

function nested(depth: number): string {
  return `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
}

function assertNo500(answer: Answer, what: string): void {
  assert.ok(answer.status < 500, `${what}: answered ${answer.status} ${answer.text.slice(0, 300)}`);
  if (answer.status >= 400) {
    assert.ok(
      answer.code !== undefined && Object.hasOwn(ERROR_CODES, answer.code),
      `${what}: ${answer.status} without a registered code: ${answer.text.slice(0, 300)}`,
    );
  }
}

const hasBody = (r: RouteEntry): boolean => r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH';
const isApi = (r: RouteEntry): boolean => r.url.startsWith('/api/');

before(async () => {
  // The route list, from an app built in-process (real Redis, its own prefix), closed at once.
  const harness = await startHarness('sweep-routes');
  routes = routeTable(harness.app);
  await harness.close();

  ({ url, proc } = await startControlPlaneProcess(base, keys));
  const keyPair = await generateSigningKeyPair();
  const enrolled = await send('POST', RUNNER_API.enroll, {
    headers: { 'dd-api-key': keys.apiKey, 'dd-application-key': keys.appKey },
    body: JSON.stringify({
      name: `sweep-${randomBytes(3).toString('hex')}`,
      publicKey: keyPair.publicJwk,
      allowlist: ['com.datadoghq.http.request'],
      version: 'test',
    }),
  });
  assert.equal(enrolled.status, 201, enrolled.text);
  runnerId = enrollResponseSchema.parse(JSON.parse(enrolled.text)).runnerId;
  runnerKey = await importSigningKey(keyPair.privateJwk);
  runnerToken = await new RunnerTokenMinter(runnerId, runnerKey).token();
  const submitted = await send('POST', TASKS_API.submit, {
    headers: { 'dd-application-key': keys.appKey },
    body: JSON.stringify({ runner: runnerId, action: 'com.datadoghq.http.request', inputs: { url: 'http://127.0.0.1:9/' } }),
  });
  assert.equal(submitted.status, 201, submitted.text);
  taskId = taskViewSchema.parse(JSON.parse(submitted.text)).id;
});

after(async () => {
  await releaseTestResources([proc], base, []);
});

describe('control-plane input sweep (real process, every route)', () => {
  it('reads the routes from the app', () => {
    assert.ok(routes.length >= 40, `only ${routes.length} routes`);
    for (const must of ['POST /api/v1/tasks', 'POST /api/v1/runner/tasks/:id/result', 'PATCH /api/v1/connections/:id']) {
      assert.ok(
        routes.some((r) => `${r.method} ${r.url}` === must),
        `${must} listed`,
      );
    }
  });

  it('malformed bodies: a 4xx with a stable code on every route, never a 500', async () => {
    const bodies: { name: string; body: string | Buffer; contentType?: string; expect?: { status: number; code: string } }[] = [
      {
        name: 'wrong types',
        body: JSON.stringify({
          runner: 1,
          action: [],
          inputs: 'x',
          name: {},
          runnerId: null,
          leases: 'x',
          max: 'ten',
          leaseToken: 5,
          outcome: [],
          settings: [],
          principal: 'me',
          scopes: 'all',
          members: 7,
        }),
      },
      { name: 'an array', body: '[1,2,3]' },
      { name: 'a string', body: '"hello"' },
      { name: 'nested 100 deep', body: nested(100), expect: { status: 400, code: 'PAR_ERR_REQUEST_INVALID' } },
      { name: 'nested 3,000 deep', body: nested(3_000), expect: { status: 400, code: 'PAR_ERR_REQUEST_INVALID' } },
      { name: 'nested 100,000 deep', body: nested(100_000), expect: { status: 400, code: 'PAR_ERR_REQUEST_INVALID' } },
      { name: 'unknown fields', body: JSON.stringify({ zzUnknownField: true, __proto__x: 1 }) },
      { name: 'prototype pollution', body: '{"__proto__":{"polluted":true}}', expect: { status: 400, code: 'PAR_ERR_REQUEST_INVALID' } },
      { name: 'not JSON', body: '{"a": ', expect: { status: 400, code: 'PAR_ERR_REQUEST_INVALID' } },
      { name: 'binary', body: randomBytes(2048), expect: { status: 400, code: 'PAR_ERR_REQUEST_INVALID' } },
      {
        name: 'wrong content type',
        body: 'a=b',
        contentType: 'application/x-www-form-urlencoded',
        expect: { status: 415, code: 'PAR_ERR_REQUEST_INVALID' },
      },
      { name: 'oversize', body: Buffer.alloc(0), expect: { status: 413, code: 'PAR_ERR_REQUEST_INVALID' } },
    ];
    // Over each route's limit: results may carry 16 MiB, everything else 1 MiB.
    const oversize = (route: RouteEntry): Buffer => Buffer.alloc((/\/results?$/.test(route.url) ? 17 : 2) * 1024 * 1024, 0x20);
    let sent = 0;
    for (const route of routes.filter(hasBody)) {
      for (const b of bodies) {
        const path = route.url === '/api/v1/runner/tasks/:id/result' ? pathOf(route, taskId) : pathOf(route);
        const answer =
          b.name === 'oversize'
            ? await sendOversize(route.method, path, oversize(route), authHeaders(route))
            : await send(route.method, path, {
                body: b.body,
                ...(b.contentType ? { contentType: b.contentType } : {}),
                headers: authHeaders(route),
              });
        const what = `${route.method} ${route.url} with ${b.name}`;
        assertNo500(answer, what);
        assert.ok(answer.status >= 400, `${what}: accepted (${answer.status})`);
        if (b.expect) {
          assert.equal(answer.status, b.expect.status, `${what}: ${answer.text.slice(0, 200)}`);
          assert.equal(answer.code, b.expect.code, what);
        }
        sent++;
      }
    }
    assert.ok(sent >= 15 * bodies.length);
  });

  it('unknown fields are refused naming the field, on the routes that took them silently', async () => {
    const app = { 'dd-application-key': keys.appKey };
    const runner = { authorization: `Bearer ${runnerToken}` };
    const cases: { method: string; path: string; headers: Record<string, string>; body: unknown; field: string }[] = [
      {
        method: 'POST',
        path: TASKS_API.submit,
        headers: app,
        body: { runner: runnerId, action: 'com.datadoghq.http.request', inputs: {}, connection: 'db-main' },
        field: 'connection',
      },
      { method: 'POST', path: RUNNER_API.dequeue, headers: runner, body: { max: 1, waitMs: 0, priority: 1 }, field: 'priority' },
      {
        method: 'POST',
        path: RUNNER_API.heartbeat,
        headers: runner,
        body: { leases: [{ taskId, leaseToken: 'x', extend: 1 }] },
        field: 'leases.0.extend',
      },
      {
        method: 'POST',
        path: RUNNER_API.result(taskId),
        headers: runner,
        body: { leaseToken: 'x', outcome: { kind: 'succeeded', attempts: 1, durationMs: 1 }, state: 'succeeded' },
        field: 'state',
      },
      {
        method: 'POST',
        path: RUNNER_API.health,
        headers: runner,
        body: { version: '1', platform: 'x', allowlist: [], capacity: 1, inFlight: 0, healthy: true, debug: 1 },
        field: 'debug',
      },
      {
        method: 'POST',
        path: RUNNER_API.enroll,
        headers: { 'dd-api-key': keys.apiKey, ...app },
        body: { name: 'x1', publicKey: { kty: 'OKP' }, admin: true },
        field: 'admin',
      },
      {
        method: 'PUT',
        path: `/api/v1/runners/${runnerId}/grants`,
        headers: app,
        body: { principal: { type: 'role', id: 'standard', org: 'x' }, role: 'viewer' },
        field: 'principal.org',
      },
    ];
    for (const c of cases) {
      const answer = await send(c.method, c.path, { headers: c.headers, body: JSON.stringify(c.body) });
      assert.equal(answer.status, 400, `${c.method} ${c.path}: ${answer.text}`);
      assert.equal(answer.code, 'PAR_ERR_REQUEST_INVALID');
      assert.match(answer.message ?? '', new RegExp(`${c.field.replace(/\./g, '\\.')}: unknown field`), `${c.path} names ${c.field}`);
    }
  });

  it('malformed ids in the URL: 404 PAR_ERR_NOT_FOUND on every API route (never reaching Redis)', async () => {
    const ids = [
      '..',
      '.',
      'x'.repeat(5_000),
      'ü-ñ-日本',
      'a:b',
      `${taskId}:events`,
      `${runnerId}:ready`,
      '{x}',
      '\0',
      'a b',
      '*',
      '../../etc/passwd',
      'a\r\nb',
    ];
    let sent = 0;
    for (const route of routes.filter((r) => r.url.includes(':'))) {
      for (const id of ids) {
        const answer = await send(route.method, pathOf(route, id), {
          headers: authHeaders(route),
          ...(hasBody(route) ? { body: '{}' } : {}),
        });
        const what = `${route.method} ${route.url} with id ${JSON.stringify(id.slice(0, 40))}`;
        assertNo500(answer, what);
        if (isApi(route)) {
          assert.equal(answer.status, 404, `${what}: ${answer.text.slice(0, 200)}`);
          assert.equal(answer.code, 'PAR_ERR_NOT_FOUND', what);
        }
        sent++;
      }
      // Raw percent forms the router decodes itself.
      for (const raw of ['%00', '%2e%2e', 'a%3Aevents', '%ZZ', '%C0%AE']) {
        const answer = await send(route.method, route.url.replace(/:[A-Za-z]+/g, raw), { headers: authHeaders(route) });
        assertNo500(answer, `${route.method} ${route.url} with raw ${raw}`);
        if (isApi(route)) assert.ok(answer.status === 404 || answer.status === 400, `${route.url} ${raw}: ${answer.status}`);
        sent++;
      }
    }
    assert.ok(sent > 100);
  });

  it('a result for a malformed task id (was: Lua HMGET on a list key, 500) is 404', async () => {
    for (const id of [`${taskId}:events`, 'a:b', '..']) {
      const answer = await send('POST', RUNNER_API.result(id), {
        headers: { authorization: `Bearer ${runnerToken}` },
        body: JSON.stringify({ leaseToken: 'x', outcome: { kind: 'succeeded', attempts: 1, durationMs: 1 } }),
      });
      assert.equal(answer.status, 404, answer.text);
      assert.equal(answer.code, 'PAR_ERR_NOT_FOUND');
    }
    const heartbeat = await send('POST', RUNNER_API.heartbeat, {
      headers: { authorization: `Bearer ${runnerToken}` },
      body: JSON.stringify({ leases: [{ taskId: `${taskId}:events`, leaseToken: 'x' }] }),
    });
    assert.equal(heartbeat.status, 400, heartbeat.text);
    assert.equal(heartbeat.code, 'PAR_ERR_REQUEST_INVALID');
  });

  it('malformed query strings: never a 500', async () => {
    const queries = [
      '?runnerId=a%3Aready',
      '?runnerId=',
      `?runnerId=${'x'.repeat(3000)}`,
      '?limit=abc',
      '?limit=-1',
      '?limit=1e309',
      '?wait=-5',
      '?wait=99999999999',
      '?force=maybe',
      '?runnerId[]=a&runnerId[]=b',
      '?%00=%00',
    ];
    for (const route of routes.filter((r) => r.method === 'GET' || r.method === 'DELETE')) {
      for (const q of queries) {
        const answer = await send(route.method, `${pathOf(route)}${q}`, { headers: authHeaders(route) });
        assertNo500(answer, `${route.method} ${route.url}${q}`);
      }
    }
  });

  it('malformed auth headers: 4xx with a stable code on every API route', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = async (claims: Record<string, unknown>): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA' }).sign(runnerKey);
    const bearerTokens = [
      '',
      'Bearer',
      'Bearer x',
      'Bearer a.b.c',
      'Basic dXNlcjpwYXNz',
      `Bearer ${'A'.repeat(8000)}`,
      `Bearer eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ iss: runnerId, aud: 'par-control-plane' })).toString('base64url')}.`,
      `Bearer ${await forged({ iss: `${runnerId}:ready`, aud: 'par-control-plane', iat: now, exp: now + 60 })}`,
      `Bearer ${await forged({ iss: 'a:b', aud: 'par-control-plane', iat: now, exp: now + 60 })}`,
      `Bearer ${await forged({ iss: runnerId, aud: 'someone-else', iat: now, exp: now + 60 })}`,
      `Bearer ${await forged({ iss: runnerId, aud: 'par-control-plane', iat: now - 3600, exp: now - 3000 })}`,
      `Bearer ${await forged({ iss: ['x'], aud: 'par-control-plane' })}`,
    ];
    const appKeys = ['', 'x', 'z'.repeat(8000), keys.apiKey, `${keys.appKey} `];
    for (const route of routes.filter(isApi)) {
      const body = hasBody(route) ? { body: '{}' } : {};
      for (const authorization of bearerTokens) {
        const answer = await send(route.method, pathOf(route), { headers: { authorization }, ...body });
        assertNo500(answer, `${route.method} ${route.url} with authorization ${authorization.slice(0, 30)}`);
      }
      for (const appKey of appKeys) {
        const answer = await send(route.method, pathOf(route), {
          headers: { 'dd-application-key': appKey, 'dd-api-key': appKey },
          ...body,
        });
        assertNo500(answer, `${route.method} ${route.url} with app key ${appKey.slice(0, 10)}`);
      }
    }
    // A runner token naming a key of another type (`<runner>:ready`) is an invalid token, not a Redis error.
    const wrongType = await send('POST', RUNNER_API.dequeue, {
      headers: { authorization: bearerTokens[7]! },
      body: '{"max":1,"waitMs":0}',
    });
    assert.equal(wrongType.status, 401, wrongType.text);
    assert.equal(wrongType.code, 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID');
  });

  it('the control plane is healthy afterwards and logged no failed request', async () => {
    assert.equal(proc.proc.exitCode, null, proc.output().slice(-2000));
    const health = await send('GET', '/healthz');
    assert.equal(health.status, 200);
    // A 500 is logged as "request failed" (http-errors.ts); the sweep must not have caused one.
    assert.ok(
      !proc.output().includes('request failed'),
      proc
        .output()
        .split('\n')
        .filter((l) => l.includes('request failed'))
        .slice(0, 3)
        .join('\n'),
    );
    // And the real task is untouched by everything above.
    const task = await send('GET', TASKS_API.get(taskId), { headers: { 'dd-application-key': keys.appKey } });
    assert.equal(task.status, 200);
    assert.equal(taskViewSchema.parse(JSON.parse(task.text)).state, 'queued');
  });
});
