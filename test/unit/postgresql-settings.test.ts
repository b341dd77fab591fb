import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Credentials } from '../../src/contracts/credentials.js';
import { searchPathOption, settingsFromCredentials, settingsKey, tlsOptions } from '../../src/actions/postgresql/connection-settings.js';
import { postgresSelectInputSchema } from '../../src/actions/postgresql/inputs.js';
import { ParError } from '../../src/errors/par-error.js';

const tokens = (t: Record<string, string>): Credentials => ({ authType: 'Token Auth', tokens: t });
const FULL = { host: 'db.internal', port: '6543', user: 'reader', password: 's3cr3t-value', database: 'app', sslmode: 'verify-full' };

function rejection(fn: () => unknown): ParError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ParError);
    return error;
  }
  assert.fail('expected an error');
}

describe('PostgreSQL connection settings from Token Auth', () => {
  it('reads the seed token names', () => {
    assert.deepEqual(settingsFromCredentials(tokens(FULL)), {
      host: 'db.internal',
      port: 6543,
      user: 'reader',
      password: 's3cr3t-value',
      database: 'app',
      sslmode: 'verify-full',
      applicationName: 'par-postgresql',
      searchPath: undefined,
    });
  });

  it('reads applicationName and searchPath, as the vendor documents them', () => {
    const s = settingsFromCredentials(tokens({ ...FULL, applicationName: ' reports ', searchPath: 'app, public' }));
    assert.deepEqual([s.applicationName, s.searchPath], ['reports', 'app, public']);
    assert.equal(searchPathOption('my schema\\x'), '-c search_path=my\\ schema\\\\x');
  });

  it('defaults port 5432, an empty password and sslmode prefer (as libpq)', () => {
    const s = settingsFromCredentials(tokens({ host: 'h', user: 'u', database: 'd' }));
    assert.equal(s.port, 5432);
    assert.equal(s.password, '');
    assert.equal(s.sslmode, 'prefer');
  });

  for (const missing of ['host', 'user', 'database']) {
    it(`a missing or empty "${missing}" token is a non-retryable error naming it and no value`, () => {
      for (const value of [undefined, '  ']) {
        const t: Record<string, string> = { ...FULL };
        if (value === undefined) delete t[missing];
        else t[missing] = value;
        const error = rejection(() => settingsFromCredentials(tokens(t)));
        assert.equal(error.code, 'PAR_ERR_POSTGRES_CREDENTIALS_INVALID');
        assert.equal(error.retryable, false);
        assert.match(error.message, new RegExp(`"${missing}"`));
        for (const v of Object.values(FULL)) assert.ok(!error.message.includes(v), `message leaks ${v}`);
      }
    });
  }

  it('an invalid port or sslmode names the token, not the value', () => {
    for (const [name, value] of [
      ['port', 'leaky-port'],
      ['port', '70000'],
      ['sslmode', 'leaky-mode'],
    ] as const) {
      const error = rejection(() => settingsFromCredentials(tokens({ ...FULL, [name]: value })));
      assert.equal(error.code, 'PAR_ERR_POSTGRES_CREDENTIALS_INVALID');
      assert.match(error.message, new RegExp(`"${name}"`));
      assert.ok(!error.message.includes(value));
    }
  });

  it('needs Token Auth credentials', () => {
    assert.equal(rejection(() => settingsFromCredentials(undefined)).code, 'PAR_ERR_POSTGRES_CREDENTIALS_INVALID');
    const basic = rejection(() => settingsFromCredentials({ authType: 'Basic Auth', username: 'u', password: 'basic-secret' }));
    assert.match(basic.message, /Token Auth/);
    assert.doesNotMatch(basic.message, /basic-secret/);
  });

  it('maps sslmode to TLS options the way libpq reads them', () => {
    assert.equal(tlsOptions('disable'), false);
    assert.deepEqual(tlsOptions('require'), { rejectUnauthorized: false });
    assert.deepEqual(tlsOptions('prefer'), { rejectUnauthorized: false });
    const ca = tlsOptions('verify-ca');
    assert.ok(ca && ca.rejectUnauthorized === true && ca.checkServerIdentity?.('other.host', {} as never) === undefined);
    assert.deepEqual(tlsOptions('verify-full'), { rejectUnauthorized: true });
  });

  it('keys pools by a hash that differs per credential set and reveals none of it', () => {
    const a = settingsKey(settingsFromCredentials(tokens(FULL)));
    const b = settingsKey(settingsFromCredentials(tokens({ ...FULL, password: 'other' })));
    assert.notEqual(a, b);
    assert.equal(a, settingsKey(settingsFromCredentials(tokens({ ...FULL }))));
    assert.match(a, /^[0-9a-f]{64}$/);
  });
});

describe('postgresql.select inputs', () => {
  it('defaults parameters, timeout and maxRows', () => {
    assert.deepEqual(postgresSelectInputSchema.parse({ query: 'SELECT 1' }), {
      query: 'SELECT 1',
      parameters: [],
      timeout: 30_000,
      maxRows: 1000,
    });
  });

  it('accepts scalars, null and one-level arrays as parameters', () => {
    const parsed = postgresSelectInputSchema.parse({ query: 'SELECT $1, $2, $3, $4, $5', parameters: ['a', 1.5, true, null, [1, 2]] });
    assert.deepEqual(parsed.parameters, ['a', 1.5, true, null, [1, 2]]);
  });

  for (const [label, inputs] of [
    ['an empty query', { query: '  ' }],
    ['a missing query', {}],
    ['an object parameter', { query: 'SELECT $1', parameters: [{ a: 1 }] }],
    ['a nested array parameter', { query: 'SELECT $1', parameters: [[[1]]] }],
    ['parameters that are not a list', { query: 'SELECT $1', parameters: 'a' }],
    ['a non-positive maxRows', { query: 'SELECT 1', maxRows: 0 }],
    ['a fractional timeout', { query: 'SELECT 1', timeout: 1.5 }],
    ['a timeout above 10 minutes', { query: 'SELECT 1', timeout: 600_001 }],
  ] as const) {
    it(`refuses ${label}`, () => {
      assert.equal(postgresSelectInputSchema.safeParse(inputs).success, false);
    });
  }
});
