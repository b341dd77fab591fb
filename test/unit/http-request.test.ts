import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import type { ActionContext } from '../../src/actions/action.js';
import { httpRequestInputSchema } from '../../src/actions/http/inputs.js';
import { runHttpRequest } from '../../src/actions/http/request.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });

describe('http.request against a loopback server', () => {
  let target: TargetServer;
  let agent: Agent;

  before(async () => {
    target = await startTargetServer();
    agent = new Agent();
    target.route('/big', (_req, res) => { res.setHeader('content-type', 'text/plain'); res.end('x'.repeat(2048)); });
    target.route('/chunked', (_req, res) => { res.write('y'.repeat(600)); setTimeout(() => res.end('y'.repeat(600)), 10); });
    target.route('/problem', (_req, res) => { res.statusCode = 400; res.setHeader('content-type', 'application/problem+json; charset=utf-8'); res.end('{"title":"bad"}'); });
    target.route('/badjson', (_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{oops'); });
    target.route('/echo', (req, res, body) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ body, ct: req.headers['content-type'] ?? null })); });
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

  it('parses +json bodies, keeps unparsable JSON as text, returns 4xx as output', async () => {
    assert.deepEqual(await run({ url: `${target.url}/problem` }).then((o) => [o.status, o.body]), [400, { title: 'bad' }]);
    assert.equal((await run({ url: `${target.url}/badjson` })).body, '{oops');
  });

  it('sends a string body as is and anything else as JSON', async () => {
    const text = await run({ verb: 'PUT', url: `${target.url}/echo`, body: 'a=1', requestHeaders: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.deepEqual(text.body, { body: 'a=1', ct: 'application/x-www-form-urlencoded' });
    const json = await run({ verb: 'POST', url: `${target.url}/echo`, body: [1, 2] });
    assert.deepEqual(json.body, { body: '[1,2]', ct: 'application/json' });
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
    const pending = run({ url: `${target.url}/hang` }, ctx({ signal: c.signal }));
    setTimeout(() => c.abort(), 30);
    await rejectsWith(pending, 'PAR_ERR_TASK_CANCELLED');
  });
});
