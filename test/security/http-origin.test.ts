/**
 * Hostile corpus, family "credentials bound to their origin" (issue 7), through the real
 * processes: a connection's token or Basic password only ever reaches the origin (scheme, host,
 * port) of its baseUrl. Two loopback targets stand for the service (`good`) and an attacker
 * (`evil`, another port = another origin) that echoes every header, query and body it receives,
 * so a leak would land in the task result as well as in its request log. Each case asserts the
 * code and what each target saw; the file ends with the shared no-leak and health checks.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type RecordedRequest, type TargetServer } from '../helpers/target-server.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const TOKEN = 'origin-corpus-token-5d1c9e7a3b';
const PASSWORD = 'origin-corpus-pw-8f2a6c4e0d';
const BASIC_USER = 'svc-origin';
const SECRETS = [...secretForms(TOKEN), ...secretForms(PASSWORD, BASIC_USER)];

function echo(req: IncomingMessage, res: ServerResponse, body: string): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ url: req.url, headers: req.headers, body }));
}

function carriesSecret(r: RecordedRequest): boolean {
  const text = JSON.stringify(r);
  return SECRETS.some((s) => text.includes(s));
}

describe('security corpus: connection credentials stay on their origin', () => {
  let system: System;
  let good: TargetServer;
  let evil: TargetServer;
  let tokenConn: string;
  let basicConn: string;

  const redirectTo = (location: (req: IncomingMessage) => string) => (req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = 302;
    res.setHeader('location', location(req));
    res.end();
  };

  before(async () => {
    good = await startTargetServer();
    evil = await startTargetServer();
    // The good service answers without echoing: what it received is read from its request log.
    good.route('/api/ok', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    good.route(
      '/api/to-evil',
      redirectTo(() => `${evil.url}/echo`),
    );
    // An open redirect that reflects the whole query (the connection's token parameter included).
    good.route(
      '/api/to-evil-with-query',
      redirectTo((req) => `${evil.url}/echo${new URL(req.url ?? '/', 'http://x').search}`),
    );
    good.route(
      '/api/to-self',
      redirectTo(() => '/api/ok'),
    );
    good.route(
      '/api/to-evil-and-back',
      redirectTo(() => `${evil.url}/back`),
    );
    evil.route('/echo', echo);
    evil.route(
      '/back',
      redirectTo(() => `${good.url}/api/ok`),
    );

    system = await startSystem({ allowlist: 'com.datadoghq.http.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    await writeFile(
      join(system.configDir, 'credentials', 'token.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'api', tokenValue: TOKEN }] }),
    );
    await writeFile(
      join(system.configDir, 'credentials', 'basic.json'),
      JSON.stringify({ auth_type: 'Basic Auth', credentials: [{ username: BASIC_USER, password: PASSWORD }] }),
    );
    tokenConn = await system.createConnection({
      integration: 'http',
      name: 'good-token',
      credentialPath: 'credentials/token.json',
      settings: {
        baseUrl: `${good.url}/api`,
        headers: [{ key: 'Authorization', value: 'Bearer {{ api }}' }],
        urlParams: [{ key: 'api_key', value: '{{ api }}' }],
      },
    });
    basicConn = await system.createConnection({
      integration: 'http',
      name: 'good-basic',
      credentialPath: 'credentials/basic.json',
      settings: { baseUrl: `${good.url}/api` },
    });
  });

  after(async () => {
    await system.stop();
    await good.close();
    await evil.close();
  });

  async function run(action: 'request' | 'testConnection', inputs: Record<string, unknown>, connectionId?: string): Promise<TaskView> {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.http.${action}`,
      inputs,
      timeoutMs: 15_000,
      ...(connectionId ? { connectionId } : {}),
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assertNoSecretIn(done, SECRETS, `task ${task.id}`);
    return done;
  }

  /** Runs a task that must be refused before anything is sent: the code, and neither target saw a request. */
  async function refused(
    code: string,
    inputs: Record<string, unknown>,
    connectionId: string,
    action: 'request' | 'testConnection' = 'request',
  ): Promise<TaskView> {
    const seen = [good.requests.length, evil.requests.length];
    const done = await run(action, inputs, connectionId);
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, code, JSON.stringify(done.outcome?.error));
    assert.equal(done.outcome.error.retryable, false);
    assert.equal(done.attempts, 1);
    assert.deepEqual([good.requests.length, evil.requests.length], seen, 'a target received a request');
    return done;
  }

  it('a credential file without a baseUrl is refused (by the control plane, or by the worker before sending)', async () => {
    const seen = [good.requests.length, evil.requests.length];
    let id: string;
    try {
      id = await system.createConnection({
        integration: 'http',
        name: 'unbound',
        credentialPath: 'credentials/token.json',
        settings: { headers: { Authorization: 'Bearer {{ api }}' } },
      });
    } catch (error) {
      // The control plane refuses such a connection (issue 7, control-plane side): then it never runs.
      assert.match(String(error), /: 400 /);
      assert.deepEqual([good.requests.length, evil.requests.length], seen);
      return;
    }
    const done = await refused('PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED', { url: `${evil.url}/echo` }, id);
    assert.match(done.outcome?.error?.message ?? '', /baseUrl/);
  });

  it('an absolute URL on another port of the same host is refused', async () => {
    await refused('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', { url: `${evil.url}/echo` }, tokenConn);
    await refused('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', { url: `${evil.url}/echo` }, basicConn);
  });

  it('another host name for the same port is another origin', async () => {
    await refused('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', { url: `http://localhost:${new URL(good.url).port}/api/ok` }, tokenConn);
  });

  it('another scheme is another origin', async () => {
    await refused('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', { url: `https://127.0.0.1:${new URL(good.url).port}/api/ok` }, tokenConn);
  });

  it('user-info and backslash tricks name the evil host, and are refused', async () => {
    const goodHost = new URL(good.url).host;
    const evilHost = new URL(evil.url).host;
    for (const url of [
      `http://${goodHost}@${evilHost}/echo`,
      `http://${goodHost}:x@${evilHost}/echo`,
      `http://${evilHost}\\@${goodHost}/api/ok`,
      `http://${evilHost}#@${goodHost}/api/ok`,
    ]) {
      await refused('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', { url }, tokenConn);
    }
  });

  it('a protocol-relative or backslash-relative URL is an invalid input', async () => {
    const evilHost = new URL(evil.url).host;
    for (const url of [`//${evilHost}/echo`, `/\\${evilHost}/echo`]) await refused('PAR_ERR_INPUT_INVALID', { url }, tokenConn);
  });

  it('testConnection to another origin is refused, not reported as reachable', async () => {
    await refused('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', { url: `${evil.url}/echo` }, tokenConn, 'testConnection');
  });

  it('an absolute URL inside a relative path stays a path on the connection origin', async () => {
    const seen = [good.requests.length, evil.requests.length];
    const done = await run('request', { url: `/${evil.url}/echo` }, tokenConn);
    // The connection's own service answers 404 for that path, which fails the action (vendor semantics).
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_HTTP_STATUS');
    assert.match(done.outcome.error.message, /404 Not Found/);
    assert.equal(evil.requests.length, seen[1]);
    const got = good.requests.slice(seen[0]);
    assert.equal(got.length, 1);
    assert.equal(new URL(got[0]!.url, 'http://x').pathname, `/api/${evil.url}/echo`);
  });

  it('scheme case does not make another origin: the credentials go to the service', async () => {
    const seen = good.requests.length;
    const done = await run('request', { url: `HTTP://127.0.0.1:${new URL(good.url).port}/api/ok`, errorOnStatus: ['400-599'] }, tokenConn);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const got = good.requests.slice(seen);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.headers['authorization'], `Bearer ${TOKEN}`);
    assert.equal(new URL(got[0]!.url, 'http://x').searchParams.get('api_key'), TOKEN);
  });

  it('a redirect to another origin drops the Bearer header and the token URL parameter', async () => {
    const seen = [good.requests.length, evil.requests.length];
    const done = await run(
      'request',
      { url: '/to-evil', followRedirect: true, requestHeaders: { Cookie: 'session=task-cookie' } },
      tokenConn,
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const first = good.requests.slice(seen[0]);
    assert.equal(first[0]?.headers['authorization'], `Bearer ${TOKEN}`);
    const landed = evil.requests.slice(seen[1]);
    assert.equal(landed.length, 1);
    assert.equal(landed[0]!.headers['authorization'], undefined);
    assert.equal(landed[0]!.headers['cookie'], undefined);
    assert.ok(!carriesSecret(landed[0]!), JSON.stringify(landed[0]));
  });

  it('a redirect that reflects the query to another origin loses the token parameter', async () => {
    const seen = evil.requests.length;
    const done = await run('request', { url: '/to-evil-with-query', followRedirect: true, urlParams: { page: '2' } }, tokenConn);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const landed = evil.requests.slice(seen);
    assert.equal(landed.length, 1);
    assert.equal(new URL(landed[0]!.url, 'http://x').searchParams.get('page'), '2');
    assert.equal(new URL(landed[0]!.url, 'http://x').searchParams.has('api_key'), false);
    assert.ok(!carriesSecret(landed[0]!), JSON.stringify(landed[0]));
  });

  it('a redirect to another origin drops Basic Auth', async () => {
    const seen = [good.requests.length, evil.requests.length];
    const done = await run('request', { url: '/to-evil', followRedirect: true }, basicConn);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal(good.requests[seen[0]!]?.headers['authorization'], `Basic ${Buffer.from(`${BASIC_USER}:${PASSWORD}`).toString('base64')}`);
    const landed = evil.requests.slice(seen[1]);
    assert.equal(landed.length, 1);
    assert.equal(landed[0]!.headers['authorization'], undefined);
    assert.ok(!carriesSecret(landed[0]!));
  });

  it('a redirect within the origin keeps the credentials', async () => {
    const seen = good.requests.length;
    const done = await run('request', { url: '/to-self', followRedirect: true, errorOnStatus: ['400-599'] }, tokenConn);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const got = good.requests.slice(seen);
    assert.deepEqual(
      got.map((r) => new URL(r.url, 'http://x').pathname),
      ['/api/to-self', '/api/ok'],
    );
    assert.equal(got[1]!.headers['authorization'], `Bearer ${TOKEN}`);
  });

  it('credentials dropped on the way out do not come back on a redirect home', async () => {
    const seen = [good.requests.length, evil.requests.length];
    const done = await run('request', { url: '/to-evil-and-back', followRedirect: true }, basicConn);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const got = good.requests.slice(seen[0]);
    assert.deepEqual(
      got.map((r) => new URL(r.url, 'http://x').pathname),
      ['/api/to-evil-and-back', '/api/ok'],
    );
    assert.equal(got[1]!.headers['authorization'], undefined);
    assert.ok(!evil.requests.slice(seen[1]).some(carriesSecret));
  });

  it('leaves no credential in Redis, logs or results, and every process healthy', async () => {
    assert.ok(!evil.requests.some(carriesSecret), 'the evil target received a credential');
    await assertNothingLeaked(system, SECRETS);
  });
});
