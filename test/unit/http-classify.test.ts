import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyHttpError, errorCodeOf, statusError, statusMatches } from '../../src/actions/http/classify.js';
import { ParError } from '../../src/errors/par-error.js';

const live = () => new AbortController().signal;
const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('http error classification', () => {
  it('socket-level failures are retryable PAR_ERR_HTTP_CONNECT', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']) {
      const err = classifyHttpError(withCode(code), { target: 'GET http://a/', taskSignal: live() });
      assert.equal(err.code, 'PAR_ERR_HTTP_CONNECT', code);
      assert.equal(err.retryable, true);
      assert.match(err.message, new RegExp(code));
    }
  });

  it('finds the code in a cause chain and in an AggregateError (happy eyeballs)', () => {
    assert.equal(errorCodeOf(new Error('x', { cause: withCode('ECONNREFUSED') })), 'ECONNREFUSED');
    assert.equal(errorCodeOf(new AggregateError([new Error('a'), withCode('EHOSTUNREACH')])), 'EHOSTUNREACH');
    const agg = classifyHttpError(new AggregateError([withCode('ECONNREFUSED')]), { target: 't', taskSignal: live() });
    assert.equal(agg.code, 'PAR_ERR_HTTP_CONNECT');
  });

  it('an aborted task signal wins over whatever undici reported', () => {
    const c = new AbortController();
    c.abort();
    assert.equal(classifyHttpError(withCode('UND_ERR_ABORTED'), { target: 't', taskSignal: c.signal }).code, 'PAR_ERR_TASK_CANCELLED');
  });

  it('the per-request timeout input is a non-retryable timeout', () => {
    const t = new AbortController();
    t.abort();
    const err = classifyHttpError(withCode('UND_ERR_ABORTED'), { target: 't', taskSignal: live(), timeoutSignal: t.signal, timeoutMs: 50 });
    assert.equal(err.code, 'PAR_ERR_TASK_TIMEOUT');
    assert.equal(err.retryable, false);
    assert.match(err.message, /50 ms/);
  });

  it('invalid arguments are input errors; unknown failures are fatal; ParErrors pass through', () => {
    assert.equal(classifyHttpError(withCode('UND_ERR_INVALID_ARG'), { target: 't', taskSignal: live() }).code, 'PAR_ERR_INPUT_INVALID');
    const unknown = classifyHttpError(new Error('weird'), { target: 't', taskSignal: live() });
    assert.equal(unknown.code, 'PAR_ERR_ACTION_FAILED');
    assert.equal(unknown.retryable, false);
    const own = new ParError('PAR_ERR_HTTP_RESPONSE_TOO_LARGE');
    assert.equal(classifyHttpError(own, { target: 't', taskSignal: live() }), own);
  });

  it('errorOnStatus: 429 and 5xx are retryable, other statuses are not', () => {
    assert.equal(statusMatches(503, [{ from: 500, to: 599 }]), true);
    assert.equal(statusMatches(200, [{ from: 500, to: 599 }]), false);
    assert.equal(statusMatches(500, undefined), false);
    assert.deepEqual([statusError(503, 't').code, statusError(503, 't').retryable], ['PAR_ERR_HTTP_STATUS_RETRYABLE', true]);
    assert.deepEqual([statusError(429, 't').code, statusError(429, 't').retryable], ['PAR_ERR_HTTP_STATUS_RETRYABLE', true]);
    assert.deepEqual([statusError(404, 't').code, statusError(404, 't').retryable], ['PAR_ERR_HTTP_STATUS', false]);
  });
});
