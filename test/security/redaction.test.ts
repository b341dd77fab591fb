/**
 * Hostile corpus, "Secrets never come back" (issue 7): a target (or a script) that reflects the
 * connection's credential in every way it can. Real control plane, runner and worker processes;
 * the credential files live only in the runner's config dir. Each case asserts that the target
 * did get the credential (the connection was used), that the result holds "[redacted]" where the
 * secret was and says how many were redacted, and that no form of the secret is in any result,
 * log or Redis key, every process healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const TOKEN = 'sec-tok-8d1e6c0b5a7f4e2d';
/** Needs URL encoding (and JSON escaping) to travel in a query string or a JSON text. */
const ODD_TOKEN = 'odd/tok+en=9c3"b&7e\\x-41f0';
const BASIC_USER = 'ops-user';
const PASSWORD = 'basic-pass-6f2a9e1c7d';
const SHORT = 'k9z';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ALL_SECRETS = [
  ...secretForms(TOKEN),
  ...secretForms(ODD_TOKEN),
  ...secretForms(PASSWORD, BASIC_USER),
  JSON.stringify(ODD_TOKEN).slice(1, -1),
];

describe('security: secrets never come back (worker redaction)', () => {
  let system: System;
  let target: TargetServer;
  let tokenConn: string;
  let oddConn: string;
  let basicConn: string;
  let shortConn: string;

  before(async () => {
    target = await startTargetServer();
    // Reflects everything it got: method, raw URL (with the query), headers and body.
    target.route('/echo', (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
    // The credential it saw, as a JSON key.
    target.route('/as-key', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ [String(req.headers['x-tenant-ref'])]: 'seen' }));
    });
    // The credential it saw, base64-encoded, in a plain-text body.
    target.route('/as-base64', (req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`b64=${Buffer.from(String(req.headers['x-tenant-ref'])).toString('base64')}`);
    });
    // A 500 whose body quotes the request, as a careless error page does.
    target.route('/fail', (req, res) => {
      res.statusCode = 500;
      res.setHeader('content-type', 'text/plain');
      res.end(`internal error handling ${req.url} with key ${String(req.headers['x-tenant-ref'])}`);
    });
    // The query string as JSON text inside a text body (the odd token JSON-escaped).
    target.route('/as-json-text', (req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('key');
      res.setHeader('content-type', 'text/plain');
      res.end(JSON.stringify({ key: q }));
    });

    system = await startSystem({ allowlist: 'com.datadoghq.http.*,com.datadoghq.script.*' });
    const dir = system.configDir;
    await mkdir(join(dir, 'credentials'), { recursive: true });
    await writeFile(
      join(dir, 'credentials', 'token.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'apiToken', tokenValue: TOKEN }] }),
      { mode: 0o600 },
    );
    await writeFile(
      join(dir, 'credentials', 'odd.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'apiToken', tokenValue: ODD_TOKEN }] }),
      { mode: 0o600 },
    );
    await writeFile(
      join(dir, 'credentials', 'basic.json'),
      JSON.stringify({ auth_type: 'Basic Auth', credentials: [{ username: BASIC_USER, password: PASSWORD }] }),
      { mode: 0o600 },
    );
    await writeFile(
      join(dir, 'credentials', 'short.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'apiToken', tokenValue: SHORT }] }),
      { mode: 0o600 },
    );
    // The worker's own script config: scripts that print what they are given, on stdout or stderr.
    await writeFile(
      join(dir, 'script-config.yaml'),
      [
        'schemaId: script-credentials-v1',
        'runPredefinedScript:',
        '  joinHalves:',
        '    command: ["/bin/sh", "-c", "printf \'%s%s\' \\"$0\\" \\"$1\\"", "{{ parameters.a }}", "{{ parameters.b }}"]',
        '  failWithHalves:',
        '    command: ["/bin/sh", "-c", "printf \'%s%s\\\\n\' \\"$0\\" \\"$1\\" >&2; exit 3", "{{ parameters.a }}", "{{ parameters.b }}"]',
        '',
      ].join('\n'),
    );

    tokenConn = await system.createConnection({
      integration: 'http',
      credentialPath: 'credentials/token.json',
      settings: { baseUrl: target.url, headers: { 'X-Tenant-Ref': '{{ apiToken }}' } },
    });
    oddConn = await system.createConnection({
      integration: 'http',
      credentialPath: 'credentials/odd.json',
      settings: { baseUrl: target.url, urlParams: { key: '{{ apiToken }}' } },
    });
    basicConn = await system.createConnection({
      integration: 'http',
      credentialPath: 'credentials/basic.json',
      settings: { baseUrl: target.url },
    });
    shortConn = await system.createConnection({
      integration: 'http',
      credentialPath: 'credentials/short.json',
      settings: { baseUrl: target.url, headers: { 'X-Tenant-Ref': '{{ apiToken }}' } },
    });
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  async function run(action: string, connectionId: string, inputs: Record<string, unknown>): Promise<TaskView> {
    const task = await system.api.submitTask({ runner: system.runnerName, action, inputs, connectionId, timeoutMs: 15_000 });
    const done = await system.api.waitForTask(task.id, 30_000);
    assert.ok(done.state === 'succeeded' || done.state === 'failed', `task ended ${done.state}`);
    return done;
  }
  const request = (connectionId: string, inputs: Record<string, unknown>) => run('com.datadoghq.http.request', connectionId, inputs);

  async function closing(done: TaskView): Promise<void> {
    assertNoSecretIn(done, ALL_SECRETS, `task ${done.id}`);
    const events = await system.api.getTaskEvents(done.id);
    assertNoSecretIn(events, ALL_SECRETS, `task ${done.id} events`);
    await assertNothingLeaked(system, ALL_SECRETS);
  }

  function lastRequest(path: string) {
    const seen = target.requests.filter((r) => r.url.startsWith(path)).at(-1);
    assert.ok(seen, `the target got no request for ${path}`);
    return seen;
  }

  test('1. a header token reflected in a JSON body comes back "[redacted]", counted once', async () => {
    const done = await request(tokenConn, { url: '/echo' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.equal(lastRequest('/echo').headers['x-tenant-ref'], TOKEN, 'the target got the real token');
    const body = (done.outcome?.output as Obj)['body'];
    assert.equal(body.headers['x-tenant-ref'], '[redacted]');
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('2. a token in the query string, URL-encoded, reflected in the echoed URL', async () => {
    const done = await request(oddConn, { url: '/echo' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.ok(lastRequest('/echo?').url.includes('key='), 'the target got the query parameter');
    const url = (done.outcome?.output as Obj)['body'].url as string;
    assert.match(url, /key=\[redacted\]/);
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('3. a token JSON-escaped inside a text body', async () => {
    const done = await request(oddConn, { url: '/as-json-text', responseParsing: 'text' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.equal((done.outcome?.output as Obj)['body'], JSON.stringify({ key: '[redacted]' }));
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('4. a token used as a JSON key', async () => {
    const done = await request(tokenConn, { url: '/as-key' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.deepEqual((done.outcome?.output as Obj)['body'], { '[redacted]': 'seen' });
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('5. a token base64-encoded by the target', async () => {
    const done = await request(tokenConn, { url: '/as-base64' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.equal((done.outcome?.output as Obj)['body'], 'b64=[redacted]');
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('6. Basic Auth reflected: the Authorization header is "Basic [redacted]"', async () => {
    const done = await request(basicConn, { url: '/echo' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.equal(lastRequest('/echo').headers.authorization, `Basic ${Buffer.from(`${BASIC_USER}:${PASSWORD}`).toString('base64')}`);
    assert.equal((done.outcome?.output as Obj)['body'].headers.authorization, 'Basic [redacted]');
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('7. a target that decodes Basic Auth and returns user:pass and the password in its body', async () => {
    // The task cannot know the password; the target sends it back in a header-shaped body field.
    target.route('/pw-in-body', (req, res) => {
      const decoded = Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64').toString('utf8');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ decoded, password: decoded.split(':')[1] }));
    });
    const done = await request(basicConn, { url: '/pw-in-body', verb: 'POST', body: { hello: 'world' } });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.deepEqual((done.outcome?.output as Obj)['body'], { decoded: '[redacted]', password: '[redacted]' });
    assert.equal(done.outcome?.redactions, 2);
    await closing(done);
  });

  test('8. a 500 page quoting the token and the URL comes back redacted', async () => {
    const done = await request(tokenConn, { url: '/fail?x=1' });
    // A 5xx fails the action, its error quoting the body (vendor semantics): redacted there.
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_HTTP_STATUS');
    assert.match(done.outcome.error.message, /500 Internal Server Error: internal error handling \/fail\?x=1 with key \[redacted\]$/);
    assert.equal(done.outcome.redactions, 1);
    await closing(done);
  });

  test('9. a script that prints the secret on stdout (rebuilt from halves) gets "[redacted]"', async () => {
    const half = TOKEN.length / 2;
    const done = await run('com.datadoghq.script.runPredefinedScript', tokenConn, {
      scriptName: 'joinHalves',
      parameters: { a: TOKEN.slice(0, half), b: TOKEN.slice(half) },
    });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.equal((done.outcome?.output as Obj)['stdout'], '[redacted]');
    assert.equal(done.outcome?.redactions, 1);
    await closing(done);
  });

  test('10. a failing script whose stderr (in the error message) holds the secret', async () => {
    const half = Math.floor(PASSWORD.length / 2);
    const done = await run('com.datadoghq.script.runPredefinedScript', basicConn, {
      scriptName: 'failWithHalves',
      parameters: { a: PASSWORD.slice(0, half), b: PASSWORD.slice(half) },
    });
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_SCRIPT_EXIT_NONZERO');
    assert.match(done.outcome.error.message, /stderr: \[redacted\]/);
    assert.equal(done.outcome.redactions, 1);
    await closing(done);
  });

  test('11. several forms at once are each replaced and each counted', async () => {
    target.route('/many', (req, res) => {
      const t = String(req.headers['x-tenant-ref']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ raw: t, enc: encodeURIComponent(t), b64: Buffer.from(t).toString('base64'), list: [t, `${t}${t}`] }));
    });
    const done = await request(tokenConn, { url: '/many' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.deepEqual((done.outcome?.output as Obj)['body'], {
      raw: '[redacted]',
      enc: '[redacted]',
      b64: '[redacted]',
      list: ['[redacted]', '[redacted][redacted]'],
    });
    assert.equal(done.outcome?.redactions, 6);
    await closing(done);
  });

  test('12. nothing to redact: redactions is 0 and the output is untouched', async () => {
    const done = await request(tokenConn, { url: '/health' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.deepEqual((done.outcome?.output as Obj)['body'], { ok: true });
    assert.equal(done.outcome?.redactions, 0);
    await closing(done);
  });

  test('13. the rule for very short values: a 3-character token is not redacted (it would shred output)', async () => {
    const done = await request(shortConn, { url: '/echo' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome?.error));
    assert.equal((done.outcome?.output as Obj)['body'].headers['x-tenant-ref'], SHORT);
    assert.equal(done.outcome?.redactions, 0);
    await closing(done);
  });
});
