import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { classifyPostgresError } from '../../src/actions/postgresql/classify.js';
import { pgLibrary } from '../../src/actions/postgresql/library.js';
import { ParError } from '../../src/errors/par-error.js';

function serverError(code: string, message = 'server said no'): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}
function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.1.2.3:5432`), { code });
}
const live = new AbortController().signal;
const query = { phase: 'query' as const, taskSignal: live, statementTimeoutMs: 1000 };
const connect = { phase: 'connect' as const, taskSignal: live };

describe('classifyPostgresError', () => {
  // pg is loaded on the first PostgreSQL task (library.ts), before any of its errors can exist.
  before(() => pgLibrary());
  const cases: Array<[string, unknown, 'query' | 'connect', string, boolean]> = [
    ['serialization failure', serverError('40001'), 'query', 'PAR_ERR_POSTGRES_TRANSIENT', true],
    ['deadlock', serverError('40P01'), 'query', 'PAR_ERR_POSTGRES_TRANSIENT', true],
    ['lock not available', serverError('55P03'), 'query', 'PAR_ERR_POSTGRES_TRANSIENT', true],
    ['too many connections', serverError('53300'), 'connect', 'PAR_ERR_POSTGRES_CONNECT', true],
    ['server starting up', serverError('57P03'), 'connect', 'PAR_ERR_POSTGRES_CONNECT', true],
    ['admin shutdown', serverError('57P01'), 'query', 'PAR_ERR_POSTGRES_CONNECT', true],
    ['connection refused', socketError('ECONNREFUSED'), 'connect', 'PAR_ERR_POSTGRES_CONNECT', true],
    ['connection reset', socketError('ECONNRESET'), 'query', 'PAR_ERR_POSTGRES_CONNECT', true],
    ['connection lost (pg wording)', new Error('Connection terminated unexpectedly'), 'query', 'PAR_ERR_POSTGRES_CONNECT', true],
    [
      'pool connect timeout (pg wording)',
      new Error('timeout exceeded when trying to connect'),
      'connect',
      'PAR_ERR_POSTGRES_CONNECT',
      true,
    ],
    ['syntax error', serverError('42601'), 'query', 'PAR_ERR_POSTGRES_QUERY_INVALID', false],
    ['undefined table', serverError('42P01'), 'query', 'PAR_ERR_POSTGRES_QUERY_INVALID', false],
    ['wrong parameter count', serverError('08P01'), 'query', 'PAR_ERR_POSTGRES_QUERY_INVALID', false],
    ['bad parameter value', serverError('22P02'), 'query', 'PAR_ERR_POSTGRES_QUERY_INVALID', false],
    ['permission denied', serverError('42501'), 'query', 'PAR_ERR_POSTGRES_PERMISSION_DENIED', false],
    ['read-only violation', serverError('25006'), 'query', 'PAR_ERR_POSTGRES_READ_ONLY', false],
    ['statement timeout', serverError('57014'), 'query', 'PAR_ERR_POSTGRES_STATEMENT_TIMEOUT', false],
    ['password rejected', serverError('28P01'), 'connect', 'PAR_ERR_POSTGRES_AUTH', false],
    ['no such database', serverError('3D000'), 'connect', 'PAR_ERR_POSTGRES_AUTH', false],
    ['untrusted certificate', socketError('SELF_SIGNED_CERT_IN_CHAIN'), 'connect', 'PAR_ERR_POSTGRES_TLS', false],
    ['host name mismatch', socketError('ERR_TLS_CERT_ALTNAME_INVALID'), 'connect', 'PAR_ERR_POSTGRES_TLS', false],
    ['no TLS on the server', new Error('The server does not support SSL connections'), 'connect', 'PAR_ERR_POSTGRES_TLS', false],
    ['internal error', serverError('XX000'), 'query', 'PAR_ERR_ACTION_FAILED', false],
    ['something else', new Error('weird'), 'query', 'PAR_ERR_ACTION_FAILED', false],
  ];
  for (const [label, error, phase, code, retryable] of cases) {
    it(`${label} -> ${code} (${retryable ? 'retryable' : 'not retryable'})`, () => {
      const classified = classifyPostgresError(error, phase === 'query' ? query : connect);
      assert.equal(classified.code, code);
      assert.equal(classified.retryable, retryable);
    });
  }

  it('while connecting keeps only the SQLSTATE or socket code, never the server text or address', () => {
    const auth = classifyPostgresError(serverError('28P01', 'password authentication failed for user "alice"'), connect);
    assert.doesNotMatch(auth.message, /alice/);
    assert.match(auth.message, /28P01/);
    const refused = classifyPostgresError(socketError('ECONNREFUSED'), connect);
    assert.doesNotMatch(refused.message, /10\.1\.2\.3/);
  });

  it('once the statement runs keeps the server message that explains it', () => {
    const e = classifyPostgresError(serverError('42P01', 'relation "nope" does not exist'), query);
    assert.match(e.message, /42P01: relation "nope" does not exist/);
  });

  it('an aborted task is a cancellation whatever pg reported', () => {
    const controller = new AbortController();
    controller.abort();
    for (const error of [serverError('57014'), new Error('Connection terminated'), socketError('ECONNRESET')]) {
      assert.equal(classifyPostgresError(error, { ...query, taskSignal: controller.signal }).code, 'PAR_ERR_TASK_CANCELLED');
    }
  });

  it('keeps a ParError as it is', () => {
    const original = new ParError('PAR_ERR_POSTGRES_CREDENTIALS_INVALID', 'token "host" is missing or empty');
    assert.equal(classifyPostgresError(original, query), original);
  });
});
