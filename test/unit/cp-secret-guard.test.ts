import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findSecret } from '../../src/control-plane/secret-guard.js';
import { findTooDeep } from '../../src/control-plane/input-limits.js';

function nest(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
}

describe('secret guard', () => {
  const refused: [string, unknown, string][] = [
    ['password key', { password: 'x' }, 'password'],
    ['pwd key', { db: { pwd: 'x' } }, 'db.pwd'],
    ['pass word with separator', { 'db-pass': 'x' }, 'db-pass'],
    ['camelCase pass', { dbPass: 'x' }, 'dbPass'],
    ['PASS upper', { PASS: 'x' }, 'PASS'],
    ['apiKey', { apiKey: 'x' }, 'apiKey'],
    ['api_key', { api_key: 'x' }, 'api_key'],
    ['authorization key', { Authorization: 'x' }, 'Authorization'],
    ['bearer key', { bearer: 'x' }, 'bearer'],
    ['cookie key', { cookie: 'x' }, 'cookie'],
    ['sshKey', { sshKey: 'x' }, 'sshKey'],
    ['privateKey', { a: [{ privateKey: 'x' }] }, 'a.0.privateKey'],
    ['credentials', { credentials: {} }, 'credentials'],
    ['key deep in the tree', nest(50, { secret: 'x' }), `${'n.'.repeat(50)}secret`],
    ['Bearer literal value', { x: 'Bearer abcdef' }, 'x'],
    ['Basic literal value', { x: 'Basic dXNlcjpwYXNz' }, 'x'],
    ['PEM private key', { ca: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc' }, 'ca'],
    ['URL userinfo', { baseUrl: 'https://u:p@example.test/' }, 'baseUrl'],
    ['DSN userinfo', { dsn: 'postgres://u:p@h/db' }, 'dsn'],
    ['libpq password=', { conn: 'host=h password=p' }, 'conn'],
    ['known token shape', { note: 'sk_live_abcdef123456' }, 'note'],
    ['literal Authorization header (pairs)', { headers: [{ key: 'Authorization', value: 'literal' }] }, 'headers.0.value'],
    ['literal X-Api-Key header (map)', { headers: { 'X-Api-Key': 'literal' } }, 'headers.X-Api-Key'],
    ['secret literal glued to a template', { headers: [{ key: 'Authorization', value: 'Bearer abc123{{ t }}' }] }, 'headers.0.value'],
    ['template then token literal', { headers: [{ key: 'X-Trace', value: '{{ t }}sk9f8a7b6c5d4e3f2a1b0c9d8' }] }, 'headers.0.value'],
    ['headers nested deep', nest(10, { headers: [{ key: 'Cookie', value: 'session=abc' }] }), `${'n.'.repeat(10)}headers.0.value`],
    ['too deep to check', nest(70, 'x'), 'n.'.repeat(63) + 'n'],
  ];
  for (const [name, value, path] of refused) {
    it(`refuses ${name}`, () => {
      const found = findSecret(value);
      assert.ok(found, 'refused');
      assert.equal(found.path, path);
    });
  }

  const accepted: [string, unknown][] = [
    ['plain settings', { baseUrl: 'https://api.example.test/v1', context: 'prod', kubeconfigPath: 'kube/config' }],
    ['Bearer template (documented seed usage)', { headers: [{ key: 'Authorization', value: 'Bearer {{ itemsToken }}' }] }],
    ['pure template under a sensitive map name', { headers: { 'X-Api-Key': '{{ itemToken }}' }, urlParams: { api_key: '{{ k }}' } }],
    ['non-sensitive header literal', { headers: [{ key: 'Accept', value: 'application/json' }] }],
    ['template next to a harmless literal', { headers: [{ key: 'X-Org', value: 'org-{{ orgId }}' }] }],
    ['passthrough / bypass are not pass', { passthrough: true, bypassCache: false }],
    ['very deep but within the limit', nest(60, 'x')],
  ];
  for (const [name, value] of accepted) {
    it(`accepts ${name}`, () => assert.equal(findSecret(value), undefined));
  }
});

describe('depth check', () => {
  it('finds a value deeper than the limit without recursion (100,000 levels)', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    assert.ok(findTooDeep(deep, 64));
  });
  it('accepts 64 levels, refuses 65', () => {
    assert.equal(findTooDeep(nest(63, 1), 64), undefined);
    assert.ok(findTooDeep(nest(65, 1), 64));
  });
});
