/** Host allowlist globs, with the glob syntax of the vendor's allowlist (no separators). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileHostGlob } from '../../src/actions/http/host-glob.js';
import { NetworkPolicy } from '../../src/actions/http/network-policy.js';
import { splitGlobList } from '../../src/config/env-source.js';
import { ParError } from '../../src/errors/par-error.js';

function matches(pattern: string, host: string): boolean {
  const g = compileHostGlob(pattern);
  assert.ok(g.ok, g.ok ? '' : g.problem);
  return g.test(host);
}

describe('host globs', () => {
  const cases: Array<[string, string, boolean]> = [
    ['api.corp', 'api.corp', true],
    ['api.corp', 'API.Corp', true],
    ['api.corp', 'xapi.corp', false],
    ['*.corp.internal', 'a.corp.internal', true],
    ['*.corp.internal', 'a.b.corp.internal', true],
    ['*.corp.internal', 'corp.internal', false],
    ['*', 'anything.at.all', true],
    ['db-?.corp', 'db-1.corp', true],
    ['db-?.corp', 'db-12.corp', false],
    ['db-[0-9].corp', 'db-7.corp', true],
    ['db-[0-9].corp', 'db-x.corp', false],
    ['db-[!0-9].corp', 'db-x.corp', true],
    ['db-[!0-9].corp', 'db-7.corp', false],
    ['db-[abc].corp', 'db-b.corp', true],
    ['{eu,us}.corp', 'eu.corp', true],
    ['{eu,us}.corp', 'us.corp', true],
    ['{eu,us}.corp', 'ap.corp', false],
    ['api.{eu,us-{east,west}}.corp', 'api.us-west.corp', true],
    ['api.{eu,us-{east,west}}.corp', 'api.us-north.corp', false],
    ['10.0.0.*', '10.0.0.12', true],
    ['10.0.0.*', '10.0.1.12', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a+b.corp', 'a+b.corp', true],
    ['a+b.corp', 'aab.corp', false],
    ['(x).corp', '(x).corp', true],
  ];
  for (const [pattern, host, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${host}`, () => assert.equal(matches(pattern, host), expected));
  }

  for (const bad of ['db-[0-9.corp', '{eu,us.corp', 'eu}.corp', 'x\\', 'db-[].corp']) {
    it(`${bad} is an invalid pattern, not a crash`, () => {
      const g = compileHostGlob(bad);
      assert.equal(g.ok, false);
    });
  }

  it('an invalid pattern fails the worker at start-up naming PAR_HTTP_HOST_ALLOWLIST', () => {
    assert.throws(
      () => new NetworkPolicy({ hostAllowlist: ['ok.corp', 'db-[0-9.corp'] }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && /PAR_HTTP_HOST_ALLOWLIST/.test(e.message),
    );
  });

  it('the allowlist setting splits on commas outside braces', () => {
    assert.deepEqual(splitGlobList('a.corp, db.{eu,us}.corp,\n*.x'), ['a.corp', 'db.{eu,us}.corp', '*.x']);
  });

  it('the policy admits through globs', () => {
    const policy = new NetworkPolicy({ hostAllowlist: ['db-[0-9].{eu,us}.corp'] });
    assert.equal(policy.checkHost('db-3.eu.corp'), undefined);
    assert.equal(policy.checkHost('db-3.ap.corp')?.code, 'PAR_ERR_HTTP_HOST_NOT_ALLOWED');
  });
});
