import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConnectionAuth, resolveRequestUrl } from '../../src/actions/http/connection-auth.js';
import { httpRequestInputSchema } from '../../src/actions/http/inputs.js';
import { prepareRequest } from '../../src/actions/http/prepare.js';
import type { Credentials } from '../../src/contracts/credentials.js';
import { ParError } from '../../src/errors/par-error.js';

const SECRET = 's3cr3t-value-never-shown';
const tokens = (t: Record<string, string>): Credentials => ({ authType: 'Token Auth', tokens: t });
/** A connection bound to https://api.corp unless the settings name another baseUrl. */
const conn = (settings: Record<string, unknown>) => ({
  id: 'c1',
  integration: 'http',
  settings: { baseUrl: 'https://api.corp/', ...settings },
});
const fails = (fn: () => unknown, code: string, check?: (message: string) => void) =>
  assert.throws(fn, (e: unknown) => {
    if (!(e instanceof ParError) || e.code !== code) return false;
    assert.ok(!e.message.includes(SECRET), 'the message carries a credential value');
    check?.(e.message);
    return true;
  });

describe('http connection auth', () => {
  it('Basic Auth becomes an Authorization: Basic header', () => {
    const auth = resolveConnectionAuth({ credentials: { authType: 'Basic Auth', username: 'ann', password: 'p:w' }, connection: conn({}) });
    assert.deepEqual(auth.headers, [['authorization', `Basic ${Buffer.from('ann:p:w').toString('base64')}`]]);
    assert.deepEqual(auth.secretValues, ['p:w', Buffer.from('ann:p:w').toString('base64')]);
  });

  it('a connection with a credential file must have a baseUrl: its credentials are bound to that origin', () => {
    const noBase = {
      id: 'c1',
      integration: 'http',
      credentialPath: 'credentials/t.json',
      settings: { headers: { Authorization: 'Bearer {{ api }}' } },
    };
    fails(
      () => resolveConnectionAuth({ credentials: tokens({ api: SECRET }), connection: noBase }),
      'PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED',
      (m) => assert.match(m, /settings\.baseUrl/),
    );
    fails(
      () => resolveConnectionAuth({ credentials: { authType: 'Basic Auth', username: 'u', password: SECRET } }),
      'PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED',
    );
    // The credential file named but not loaded (yet) counts as well.
    fails(() => resolveConnectionAuth({ connection: { ...noBase, settings: {} } }), 'PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED');
    // No credential file: nothing to bind, a plain connection works without a baseUrl.
    assert.deepEqual(
      resolveConnectionAuth({ connection: { id: 'c2', integration: 'http', settings: { headers: { 'x-team': 'ops' } } } }).headers,
      [['x-team', 'ops']],
    );
    fails(
      () => resolveConnectionAuth({ connection: conn({ baseUrl: 'https://user:pw@api.corp/' }) }),
      'PAR_ERR_HTTP_CONNECTION_INVALID',
      (m) => assert.match(m, /user info/),
    );
  });

  it('origins compare scheme, host and port; default ports and host case do not make another origin', () => {
    const base = new URL('https://api.corp/v1/');
    for (const same of ['https://api.corp:443/x', 'https://API.Corp/x', 'https://evil@api.corp/x']) {
      assert.equal(resolveRequestUrl(same, base).origin, 'https://api.corp', same);
    }
    for (const other of [
      'http://api.corp/x',
      'https://api.corp:8443/x',
      'https://api.corp.evil/x',
      'https://api.corp@evil.example/x',
      'https://evil.example/https://api.corp/',
      'https://api.corp.:443/x',
    ]) {
      fails(() => resolveRequestUrl(other, base), 'PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION');
    }
    // A path that looks like a URL stays a path on the base origin.
    assert.equal(resolveRequestUrl('/http://evil.example/x', base).href, 'https://api.corp/v1/http://evil.example/x');
  });

  it('Token Auth fills header and URL parameter templates by token name', () => {
    const auth = resolveConnectionAuth({
      credentials: tokens({ api: SECRET, 'team.id': '42' }),
      connection: conn({
        baseUrl: 'https://api.corp/v2/',
        headers: [
          { key: 'Authorization', value: 'Bearer {{ api }}' },
          { key: 'X-Team', value: '{{team.id}}-{{ team.id }}' },
        ],
        urlParams: { api_key: '{{api}}' },
      }),
    });
    assert.equal(auth.baseUrl?.href, 'https://api.corp/v2/');
    assert.deepEqual(auth.headers, [
      ['Authorization', `Bearer ${SECRET}`],
      ['X-Team', '42-42'],
    ]);
    assert.deepEqual(auth.urlParams, [['api_key', SECRET]]);
  });

  it('a token value is inserted verbatim, never evaluated or re-expanded', () => {
    const auth = resolveConnectionAuth({
      credentials: tokens({ a: '{{ b }}${process.env}', b: 'B' }),
      connection: conn({ headers: { 'x-a': '{{ a }}' } }),
    });
    assert.deepEqual(auth.headers, [['x-a', '{{ b }}${process.env}']]);
  });

  it('an unknown token name is a non-retryable error naming the token, never a value', () => {
    const settings = conn({ headers: [{ key: 'Authorization', value: 'Bearer {{ missing }}' }] });
    fails(
      () => resolveConnectionAuth({ credentials: tokens({ api: SECRET }), connection: settings }),
      'PAR_ERR_HTTP_TOKEN_UNKNOWN',
      (m) => {
        assert.match(m, /"missing"/);
        assert.match(m, /Authorization/);
      },
    );
    fails(
      () => resolveConnectionAuth({ connection: settings }),
      'PAR_ERR_HTTP_TOKEN_UNKNOWN',
      (m) => assert.match(m, /no credential file/),
    );
    fails(
      () => resolveConnectionAuth({ credentials: { authType: 'Basic Auth', username: 'u', password: SECRET }, connection: settings }),
      'PAR_ERR_HTTP_TOKEN_UNKNOWN',
      (m) => assert.match(m, /Basic Auth/),
    );
    // Prototype names are not tokens.
    fails(
      () => resolveConnectionAuth({ credentials: tokens({ api: SECRET }), connection: conn({ headers: { x: '{{ constructor }}' } }) }),
      'PAR_ERR_HTTP_TOKEN_UNKNOWN',
    );
  });

  it('refuses expressions, malformed settings and token values that would split a header', () => {
    fails(
      () => resolveConnectionAuth({ credentials: tokens({ a: SECRET }), connection: conn({ headers: { x: '{{ a + a }}' } }) }),
      'PAR_ERR_HTTP_CONNECTION_INVALID',
    );
    fails(
      () => resolveConnectionAuth({ connection: conn({ baseUrl: 'ftp://x/' }) }),
      'PAR_ERR_HTTP_CONNECTION_INVALID',
      (m) => assert.match(m, /settings\.baseUrl/),
    );
    fails(
      () => resolveConnectionAuth({ connection: conn({ headers: 'Authorization: x' }) }),
      'PAR_ERR_HTTP_CONNECTION_INVALID',
      (m) => assert.match(m, /settings\.headers/),
    );
    fails(
      () =>
        resolveConnectionAuth({ credentials: tokens({ a: `${SECRET}\r\nx-evil: 1` }), connection: conn({ headers: { x: '{{ a }}' } }) }),
      'PAR_ERR_HTTP_CONNECTION_INVALID',
      (m) => assert.match(m, /line break/),
    );
  });
});

describe('http request URL against the connection baseUrl', () => {
  const base = new URL('https://api.corp:8443/v2/');
  it('appends a relative path (and its query) to the base path, never climbing out of it', () => {
    assert.equal(resolveRequestUrl('/users?x=1', base).href, 'https://api.corp:8443/v2/users?x=1');
    assert.equal(resolveRequestUrl('/../../admin', base).href, 'https://api.corp:8443/v2/admin');
    assert.equal(resolveRequestUrl('/a', new URL('http://h/')).href, 'http://h/a');
  });

  it('an absolute URL must be on the base origin; a relative one needs a base', () => {
    assert.equal(resolveRequestUrl('https://api.corp:8443/other', base).href, 'https://api.corp:8443/other');
    fails(() => resolveRequestUrl('https://evil.example/steal', base), 'PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION');
    fails(() => resolveRequestUrl('http://api.corp:8443/v2/x', base), 'PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION');
    fails(
      () => resolveRequestUrl('/x', undefined),
      'PAR_ERR_INPUT_INVALID',
      (m) => assert.match(m, /baseUrl/),
    );
  });

  it('the input schema accepts paths but not protocol-relative or backslash tricks', () => {
    const ok = (url: string) => httpRequestInputSchema.safeParse({ url }).success;
    assert.equal(ok('/v1/items?x=1'), true);
    for (const bad of ['//evil.example/x', '/\\evil.example/x', 'relative/path', '/with space']) assert.equal(ok(bad), false, bad);
  });
});

describe('http request preparation', () => {
  it('merges task and connection headers and params; the connection wins on the same name', () => {
    const p = prepareRequest(
      {
        url: '/items',
        requestHeaders: [
          ['authorization', 'mine'],
          ['x-task', '1'],
        ],
        urlParams: [
          ['key', 'task'],
          ['q', 'a'],
        ],
      },
      {
        credentials: tokens({ t: SECRET }),
        connection: conn({ baseUrl: 'http://svc.corp/api', headers: { Authorization: 'Bearer {{ t }}' }, urlParams: { key: '{{ t }}' } }),
      },
    );
    assert.equal(p.url.href, `http://svc.corp/api/items?q=a&key=${SECRET}`);
    assert.deepEqual(p.headers, [
      ['x-task', '1'],
      ['Authorization', `Bearer ${SECRET}`],
    ]);
    assert.deepEqual([...p.credentialHeaders], ['authorization']);
  });

  it('refuses forbidden headers from the task and from the connection, naming them', () => {
    for (const name of [
      'Host',
      'content-length',
      'Transfer-Encoding',
      'Forwarded',
      'X-Forwarded-For',
      'x-forwarded-host',
      'X-Real-IP',
      'Connection',
    ]) {
      fails(
        () => prepareRequest({ url: 'http://a/', requestHeaders: [[name, 'v']] }, {}),
        'PAR_ERR_HTTP_FORBIDDEN_HEADER',
        (m) => assert.ok(m.includes(name.toLowerCase()), m),
      );
    }
    fails(
      () => prepareRequest({ url: 'http://a/' }, { connection: conn({ headers: { host: 'other' } }) }),
      'PAR_ERR_HTTP_FORBIDDEN_HEADER',
    );
  });

  it('without a url, the connection baseUrl is the target; without either it is an input error', () => {
    assert.equal(prepareRequest({}, { connection: conn({ baseUrl: 'http://svc.corp/health' }) }).url.href, 'http://svc.corp/health');
    fails(() => prepareRequest({}, {}), 'PAR_ERR_INPUT_INVALID');
  });
});

describe('connection templates: the vendor syntax', () => {
  const cases: Array<[string, string]> = [
    ['{{ [my token] }}', 'spaced'],
    ['{{ [team.id] }}', '42'],
    ['{{& api }}', SECRET],
    ['{{~ api ~}}', SECRET],
    ['Bearer {{api}}', `Bearer ${SECRET}`],
    ['\\{{ api }}', '{{ api }}'],
    ['x-{{ api }}-{{ [my token] }}', `x-${SECRET}-spaced`],
  ];
  for (const [template, expected] of cases) {
    it(`${JSON.stringify(template)} renders as the vendor renders it`, () => {
      const auth = resolveConnectionAuth({
        credentials: tokens({ api: SECRET, 'my token': 'spaced', 'team.id': '42' }),
        connection: conn({ headers: { 'x-t': template } }),
      });
      assert.deepEqual(auth.headers, [['x-t', expected]]);
    });
  }
  for (const bad of ['{{#if api}}x{{/if}}', '{{ api', '{{{ api }}}', '{{ api | b64 }}', '{{> p }}']) {
    it(`${JSON.stringify(bad)} is a connection error, not a request`, () => {
      fails(
        () => resolveConnectionAuth({ credentials: tokens({ api: SECRET }), connection: conn({ headers: { 'x-t': bad } }) }),
        'PAR_ERR_HTTP_CONNECTION_INVALID',
        (m) => assert.doesNotMatch(m, new RegExp(SECRET)),
      );
    });
  }
});
