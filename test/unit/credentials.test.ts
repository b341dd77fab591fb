/**
 * Credential files as the vendor reads them: its documented example files, Go's case-insensitive
 * field matching, duplicate token names, and the malformed files that must be refused without
 * quoting a value.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { toCredentials } from '../../src/actions/credentials.js';
import { type Credentials } from '../../src/contracts/credentials.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/vendor-credentials/', import.meta.url));

function ok(doc: unknown): Credentials {
  const r = toCredentials(doc);
  assert.ok(r.ok, r.ok ? '' : r.problem);
  return r.value;
}

const EXPECTED_TOKENS: Record<string, string[]> = {
  'http_token.json': ['TOKEN1', 'TOKEN2'],
  'gitlab_token.json': ['gitlabApiToken', 'baseURL'],
  'jenkins_token.json': ['username', 'token', 'domain'],
  'mongodb_srv_token.json': ['username', 'password', 'srvHost', 'database'],
  'mongodb_standard_token.json': ['username', 'password', 'host', 'port', 'database', 'authSource', 'authMechanism'],
  'postgresql_token.json': ['host', 'port', 'user', 'password', 'database', 'sslmode', 'applicationName', 'searchPath'],
  'temporal_mTLS_token.json': ['serverAddress', 'serverNameOverride', 'serverRootCACertificate', 'clientCertPairCrt', 'clientCertPairKey'],
  'temporal_TLS_token.json': ['serverAddress', 'serverNameOverride', 'serverRootCACertificate'],
};

describe('credential files: the vendor documentation examples', () => {
  it('every documented example is here', async () => {
    const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, [...Object.keys(EXPECTED_TOKENS), 'http_basic.json'].sort());
  });

  for (const [file, names] of Object.entries(EXPECTED_TOKENS)) {
    it(`${file} parses as Token Auth with its documented tokens`, async () => {
      const creds = ok(JSON.parse(await readFile(`${FIXTURES}${file}`, 'utf8')));
      assert.equal(creds.authType, 'Token Auth');
      assert.deepEqual(Object.keys(creds.tokens), names);
    });
  }

  it('http_basic.json parses as Basic Auth', async () => {
    assert.deepEqual(ok(JSON.parse(await readFile(`${FIXTURES}http_basic.json`, 'utf8'))), {
      authType: 'Basic Auth',
      username: 'USERNAME',
      password: 'PASSWORD',
    });
  });

  it('the same files written as YAML parse the same', async () => {
    const json = JSON.parse(await readFile(`${FIXTURES}postgresql_token.json`, 'utf8')) as unknown;
    const yaml =
      'auth_type: Token Auth\ncredentials:\n' +
      (json as { credentials: Array<{ tokenName: string; tokenValue: string }> }).credentials
        .map((c) => `  - tokenName: ${c.tokenName}\n    tokenValue: ${c.tokenValue}\n`)
        .join('');
    assert.deepEqual(ok(parseYaml(yaml)), ok(json));
  });
});

describe('credential files: Go JSON field matching', () => {
  const variants: Array<[string, unknown, Credentials]> = [
    [
      'Auth_Type / Credentials',
      { Auth_Type: 'Token Auth', Credentials: [{ tokenName: 'a', tokenValue: '1' }] },
      { authType: 'Token Auth', tokens: { a: '1' } },
    ],
    [
      'AUTH_TYPE',
      { AUTH_TYPE: 'Basic Auth', credentials: [{ username: 'u', password: 'p' }] },
      { authType: 'Basic Auth', username: 'u', password: 'p' },
    ],
    [
      'TokenName / TokenValue',
      { auth_type: 'Token Auth', credentials: [{ TokenName: 'a', TokenValue: '1' }] },
      { authType: 'Token Auth', tokens: { a: '1' } },
    ],
    [
      'tokenname / TOKENVALUE',
      { auth_type: 'Token Auth', credentials: [{ tokenname: 'a', TOKENVALUE: '1' }] },
      { authType: 'Token Auth', tokens: { a: '1' } },
    ],
    [
      'Username / PASSWORD',
      { auth_type: 'Basic Auth', credentials: [{ Username: 'u', PASSWORD: 'p' }] },
      { authType: 'Basic Auth', username: 'u', password: 'p' },
    ],
    [
      'unknown keys ignored',
      { auth_type: 'Token Auth', comment: 'x', credentials: [{ tokenName: 'a', tokenValue: '1', note: 'n' }] },
      { authType: 'Token Auth', tokens: { a: '1' } },
    ],
    [
      'the later of two spellings wins',
      { auth_type: 'Basic Auth', AUTH_TYPE: 'Token Auth', credentials: [{ tokenName: 'a', tokenValue: '1' }] },
      { authType: 'Token Auth', tokens: { a: '1' } },
    ],
    [
      'a duplicate token name resolves to its last value',
      {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'a', tokenValue: 'first' },
          { tokenName: 'b', tokenValue: '2' },
          { tokenName: 'a', tokenValue: 'last' },
        ],
      },
      { authType: 'Token Auth', tokens: { a: 'last', b: '2' } },
    ],
    [
      'token names are case-sensitive',
      {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'Key', tokenValue: '1' },
          { tokenName: 'key', tokenValue: '2' },
        ],
      },
      { authType: 'Token Auth', tokens: { Key: '1', key: '2' } },
    ],
  ];
  for (const [what, doc, expected] of variants) {
    it(what, () => assert.deepEqual(ok(doc), expected));
  }

  const refused: Array<[string, unknown]> = [
    ['an unknown auth_type', { auth_type: 'OAuth', credentials: [] }],
    ['auth_type values are exact', { auth_type: 'token auth', credentials: [{ tokenName: 'a', tokenValue: 's3cret-x' }] }],
    ['no credentials', { auth_type: 'Token Auth' }],
    ['an empty token list', { auth_type: 'Token Auth', credentials: [] }],
    ['a token without a name', { auth_type: 'Token Auth', credentials: [{ tokenValue: 's3cret-x' }] }],
    [
      'Basic Auth with two entries',
      {
        auth_type: 'Basic Auth',
        credentials: [
          { username: 'a', password: 's3cret-x' },
          { username: 'b', password: 'c' },
        ],
      },
    ],
    ['not an object', ['s3cret-x']],
  ];
  for (const [what, doc] of refused) {
    it(`refuses ${what}, without quoting a value`, () => {
      const r = toCredentials(doc);
      assert.equal(r.ok, false);
      assert.doesNotMatch(r.problem, /s3cret-x/);
    });
  }
});
