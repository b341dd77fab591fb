import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionContext } from '../../src/actions/action.js';
import { httpRequestInputSchema } from '../../src/actions/http/inputs.js';
import { createHttpDispatchers, type HttpDispatchers } from '../../src/actions/http/dispatchers.js';
import { NetworkPolicy } from '../../src/actions/http/network-policy.js';
import { runHttpRequest } from '../../src/actions/http/request.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });

describe('http.request against a loopback server', () => {
  let target: TargetServer;
  let agent: HttpDispatchers;

  before(async () => {
    target = await startTargetServer();
    agent = createHttpDispatchers(new NetworkPolicy());
    target.route('/big', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end('x'.repeat(2048));
    });
    target.route('/chunked', (_req, res) => {
      res.write('y'.repeat(600));
      setTimeout(() => res.end('y'.repeat(600)), 10);
    });
    target.route('/problem', (_req, res) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'application/problem+json; charset=utf-8');
      res.end('{"title":"bad"}');
    });
    target.route('/badjson', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{oops');
    });
    target.route('/echo', (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ body, ct: req.headers['content-type'] ?? null }));
    });
    target.route('/hang', () => undefined);
  });
  after(async () => {
    await agent.close();
    await target.close();
  });

  function ctx(overrides: Partial<ActionContext> = {}): ActionContext {
    return { signal: new AbortController().signal, logger, configDir: '.', limits: { httpMaxResponseBytes: 1024 }, ...overrides };
  }
  const run = (inputs: Record<string, unknown>, c: ActionContext = ctx()) => runHttpRequest(httpRequestInputSchema.parse(inputs), c, agent);
  const rejectsWith = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => e instanceof ParError && e.code === code);

  it('caps the response size (declared length and streamed body)', async () => {
    await rejectsWith(run({ url: `${target.url}/big` }), 'PAR_ERR_HTTP_RESPONSE_TOO_LARGE');
    await rejectsWith(run({ url: `${target.url}/chunked` }), 'PAR_ERR_HTTP_RESPONSE_TOO_LARGE');
    const ok = await run({ url: `${target.url}/big` }, ctx({ limits: { httpMaxResponseBytes: 4096 } }));
    assert.equal((ok.body as string).length, 2048);
  });

  it('keeps unparsable JSON as text; a 4xx fails with the status line and the body, as the vendor does', async () => {
    await assert.rejects(
      run({ url: `${target.url}/problem` }),
      (e: unknown) =>
        e instanceof ParError && e.code === 'PAR_ERR_HTTP_STATUS' && !e.retryable && e.message.endsWith('400 Bad Request: {"title":"bad"}'),
    );
    assert.equal((await run({ url: `${target.url}/badjson` })).body, '{oops');
  });

  it('sends every body JSON-encoded, a string too (as the vendor does); an empty string sends no body', async () => {
    const text = await run({
      verb: 'PUT',
      url: `${target.url}/echo`,
      body: 'a=1',
      requestHeaders: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.deepEqual(text.body, { body: '"a=1"', ct: 'application/x-www-form-urlencoded' });
    const json = await run({ verb: 'POST', url: `${target.url}/echo`, body: [1, 2] });
    assert.deepEqual(json.body, { body: '[1,2]', ct: 'application/json' });
    const empty = await run({ verb: 'POST', url: `${target.url}/echo`, body: '' });
    assert.deepEqual(empty.body, { body: '', ct: null });
    const scalar = await run({ verb: 'POST', url: `${target.url}/echo`, body: 5 });
    assert.deepEqual(scalar.body, { body: '5', ct: 'application/json' });
  });

  it('sends User-Agent: Datadog unless the task names its own', async () => {
    await run({ url: `${target.url}/health` });
    assert.equal(target.requests.at(-1)?.headers['user-agent'], 'Datadog');
    await run({ url: `${target.url}/health`, requestHeaders: { 'User-Agent': 'mine/1' } });
    assert.equal(target.requests.at(-1)?.headers['user-agent'], 'mine/1');
  });

  it('HEAD returns status and headers with an empty body', async () => {
    const out = await run({ verb: 'HEAD', url: `${target.url}/health` });
    assert.equal(out.status, 200);
    assert.equal(out.body, '');
    assert.equal(out.headers['content-type'], 'application/json');
  });

  it('the timeout input fails the request with PAR_ERR_TASK_TIMEOUT', async () => {
    await rejectsWith(run({ url: `${target.url}/hang`, timeout: 50 }), 'PAR_ERR_TASK_TIMEOUT');
  });

  it('honours the task signal', async () => {
    const c = new AbortController();
    const hangs = () => target.requests.filter((r) => r.url === '/hang').length;
    const before = hangs();
    const pending = run({ url: `${target.url}/hang` }, ctx({ signal: c.signal }));
    // Abort the request in flight (the server holds it), not after a guessed delay.
    await waitUntil(() => (hangs() > before ? true : undefined), 5_000, 'the request to reach the server');
    c.abort();
    await rejectsWith(pending, 'PAR_ERR_TASK_CANCELLED');
  });

  it('formData is sent urlencoded by default and multipart when asked', async () => {
    const url = await run({
      verb: 'POST',
      url: `${target.url}/echo`,
      formData: [
        { key: 'a', value: ['1', '2'] },
        { key: 'b c', value: 'x&y' },
      ],
    });
    assert.deepEqual(url.body, { body: 'a=1&a=2&b+c=x%26y', ct: 'application/x-www-form-urlencoded' });
    const multi = await run({
      verb: 'POST',
      url: `${target.url}/echo`,
      formData: { f: 'v' },
      requestHeaders: { 'content-type': 'multipart/form-data' },
    });
    const echoed = multi.body as { body: string; ct: string };
    assert.match(echoed.ct, /^multipart\/form-data; boundary=/);
    assert.match(echoed.body, /name="f"\r\n\r\nv\r\n/);
    assert.equal(httpRequestInputSchema.safeParse({ url: 'http://a/', body: 'x', formData: { a: 'b' } }).success, false);
  });

  it('responseParsing: text keeps JSON as text, json insists on JSON', async () => {
    target.route('/json-as-text', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end('{"n":1}');
    });
    assert.equal((await run({ url: `${target.url}/json-as-text`, responseParsing: 'text' })).body, '{"n":1}');
    assert.deepEqual((await run({ url: `${target.url}/json-as-text`, responseParsing: 'json' })).body, { n: 1 });
    assert.equal((await run({ url: `${target.url}/json-as-text` })).body, '{"n":1}');
    await rejectsWith(run({ url: `${target.url}/badjson`, responseParsing: 'json' }), 'PAR_ERR_HTTP_RESPONSE_NOT_JSON');
  });

  it('a forbidden header is refused before anything is sent', async () => {
    const before = target.requests.length;
    await rejectsWith(
      run({ url: `${target.url}/echo`, requestHeaders: { 'X-Forwarded-For': '10.0.0.1' } }),
      'PAR_ERR_HTTP_FORBIDDEN_HEADER',
    );
    await rejectsWith(run({ url: `${target.url}/echo`, requestHeaders: { host: 'admin.internal' } }), 'PAR_ERR_HTTP_FORBIDDEN_HEADER');
    assert.equal(target.requests.length, before);
  });

  it('redirects: followed by default (as the vendor client does), a 3xx fails with followRedirect false, 303 turns into GET', async () => {
    target.route('/moved', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/health');
      res.end();
    });
    target.route('/see-other', (_req, res) => {
      res.statusCode = 303;
      res.setHeader('location', `${target.url}/echo`);
      res.end();
    });
    await assert.rejects(
      run({ url: `${target.url}/moved`, followRedirect: false }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_STATUS' && /status 302\. Enable 'Follow redirect'/.test(e.message),
    );
    const listed = await run({ url: `${target.url}/moved`, followRedirect: false, errorOnStatus: ['500'] });
    assert.deepEqual([listed.status, listed.headers['location']], [302, '/health']);
    const byDefault = await run({ url: `${target.url}/moved` });
    assert.deepEqual([byDefault.status, byDefault.body], [200, { ok: true }]);
    const followed = await run({ url: `${target.url}/moved`, followRedirect: true });
    assert.deepEqual([followed.status, followed.body], [200, { ok: true }]);
    const before = target.requests.length;
    const posted = await run({ verb: 'POST', url: `${target.url}/see-other`, body: { a: 1 }, followRedirect: true });
    assert.deepEqual(posted.body, { body: '', ct: null });
    assert.equal(target.requests.at(-1)?.method, 'GET');
    assert.equal(target.requests.length, before + 2);
  });

  it('a redirect loop ends with PAR_ERR_HTTP_TOO_MANY_REDIRECTS; a non-HTTP Location is refused', async () => {
    target.route('/loop', (_req, res) => {
      res.statusCode = 307;
      res.setHeader('location', '/loop');
      res.end();
    });
    target.route('/to-file', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'file:///etc/passwd');
      res.end();
    });
    await rejectsWith(run({ url: `${target.url}/loop`, followRedirect: true }), 'PAR_ERR_HTTP_TOO_MANY_REDIRECTS');
    await rejectsWith(run({ url: `${target.url}/to-file`, followRedirect: true }), 'PAR_ERR_HTTP_TOO_MANY_REDIRECTS');
  });

  it('connection credentials follow a redirect on the same origin, never to another origin', async () => {
    const other = await startTargetServer();
    try {
      target.route('/same', (_req, res) => {
        res.statusCode = 302;
        res.setHeader('location', '/health');
        res.end();
      });
      target.route('/away', (_req, res) => {
        res.statusCode = 307;
        res.setHeader('location', `${other.url}/health`);
        res.end();
      });
      const c = ctx({
        credentials: { authType: 'Token Auth', tokens: { k: 'tok-123' } },
        connection: { id: 'c', integration: 'http', settings: { baseUrl: target.url, headers: { 'X-Api-Key': '{{ k }}' } } },
      });
      await run({ url: '/same', followRedirect: true, requestHeaders: { 'x-keep': '1' } }, c);
      assert.equal(target.requests.at(-1)?.headers['x-api-key'], 'tok-123');
      await run({ url: '/away', followRedirect: true, requestHeaders: { 'x-keep': '1', Authorization: 'Bearer task', Cookie: 'a=b' } }, c);
      const hop = other.requests.at(-1);
      assert.equal(hop?.headers['x-keep'], '1');
      assert.equal(hop.headers['x-api-key'], undefined);
      assert.equal(hop.headers['authorization'], undefined);
      assert.equal(hop.headers['cookie'], undefined);
    } finally {
      await other.close();
    }
  });

  it('a connection reset by the server is a retryable PAR_ERR_HTTP_CONNECT', async () => {
    target.route('/reset', (req) => {
      req.socket.destroy();
    });
    await assert.rejects(
      run({ url: `${target.url}/reset` }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_CONNECT' && e.retryable,
    );
  });
});
