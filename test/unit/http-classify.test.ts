import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyHttpError, statusError, statusErrorText, statusMatches } from '../../src/actions/http/classify.js';
import { errorCodeOf } from '../../src/errors/error-chain.js';
import { ParError } from '../../src/errors/par-error.js';

const live = () => new AbortController().signal;
const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('http error classification', () => {
  it('socket-level failures are retryable PAR_ERR_HTTP_CONNECT', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ENOTFOUND',
      'EAI_AGAIN',
      'UND_ERR_SOCKET',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
    ]) {
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

  it('errorOnStatus: a listed 429 or 5xx is retryable, other statuses are not; unlisted 4xx/5xx fail once', () => {
    assert.equal(statusMatches(503, [{ from: 500, to: 599 }]), true);
    assert.equal(statusMatches(200, [{ from: 500, to: 599 }]), false);
    assert.equal(statusMatches(500, undefined), false);
    const none = Buffer.alloc(0);
    for (const [status, listed, code, retryable] of [
      [503, true, 'PAR_ERR_HTTP_STATUS_RETRYABLE', true],
      [429, true, 'PAR_ERR_HTTP_STATUS_RETRYABLE', true],
      [404, true, 'PAR_ERR_HTTP_STATUS', false],
      [503, false, 'PAR_ERR_HTTP_STATUS', false],
      [429, false, 'PAR_ERR_HTTP_STATUS', false],
      [200, true, 'PAR_ERR_HTTP_STATUS', false],
    ] as const) {
      const e = statusError(status, 't', none, listed);
      assert.deepEqual([e.code, e.retryable], [code, retryable], `${status} listed=${listed}`);
    }
  });

  it('words a status error as the vendor: status line, body cut at 750 bytes', () => {
    assert.equal(statusErrorText(404, Buffer.alloc(0)), '404 Not Found');
    assert.equal(statusErrorText(500, Buffer.from('boom')), '500 Internal Server Error: boom');
    assert.equal(statusErrorText(599, Buffer.from('x')), '599: x');
    const long = statusErrorText(502, Buffer.from('a'.repeat(751)));
    assert.equal(long, `502 Bad Gateway: ${'a'.repeat(750)}... [truncated]`);
    assert.equal(statusErrorText(502, Buffer.from('b'.repeat(750))), `502 Bad Gateway: ${'b'.repeat(750)}`);
    assert.match(
      statusError(418, 'GET http://h/', Buffer.from('tea'), true).message,
      /response status code 418 is in errorOnStatus; 418 I'm a Teapot: tea$/,
    );
  });
});
