/**
 * The one place where the HTTP bundle turns what went wrong into an error code. Callers (and the
 * task lifecycle) decide on `code` and `retryable`, never on messages. Details name the target
 * by origin and path only: queries and userinfo may carry secrets.
 */
import { STATUS_CODES } from 'node:http';
import { errorCodeOf, findParError } from '../../errors/error-chain.js';
import { ParError } from '../../errors/par-error.js';
import type { StatusRange } from './inputs.js';
import { CONNECT_CODES } from '../connect-codes.js';

const INPUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_URL']);

/** Certificate and handshake failures: retrying will not change the certificate. */
const TLS_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

/** Where the request went, safe to log and to put in an error message. */
export function describeTarget(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

export interface FailureContext {
  target: string;
  /** The task's signal: aborted when the lifecycle left `executing` (deadline or cancel). */
  taskSignal: AbortSignal;
  /** The per-request timeout signal from the `timeout` input, if any. */
  timeoutSignal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export function classifyHttpError(error: unknown, ctx: FailureContext): ParError {
  const own = findParError(error);
  if (own) return own;
  // Which signal fired matters more than how undici reported the abort.
  if (ctx.taskSignal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', `${ctx.target}: aborted`, { cause: error });
  if (ctx.timeoutSignal?.aborted) {
    return new ParError(
      'PAR_ERR_TASK_TIMEOUT',
      `${ctx.target}: no complete response within the ${ctx.timeoutMs ?? '?'} ms request timeout`,
      { cause: error },
    );
  }
  const code = errorCodeOf(error);
  if (code && isTlsCode(code)) return new ParError('PAR_ERR_HTTP_TLS', `${ctx.target}: ${code}`, { cause: error });
  if (code && CONNECT_CODES.has(code)) return new ParError('PAR_ERR_HTTP_CONNECT', `${ctx.target}: ${code}`, { cause: error });
  if (code && INPUT_CODES.has(code)) {
    return new ParError('PAR_ERR_INPUT_INVALID', `${ctx.target}: ${error instanceof Error ? error.message : code}`, { cause: error });
  }
  return new ParError('PAR_ERR_ACTION_FAILED', `${ctx.target}: ${code ?? (error instanceof Error ? error.name : 'error')}`, {
    cause: error,
  });
}

export function statusMatches(status: number, ranges: readonly StatusRange[] | undefined): boolean {
  return (ranges ?? []).some((r) => status >= r.from && status <= r.to);
}

/** The vendor's cap on the response body quoted in a status error. */
export const STATUS_ERROR_BODY_BYTES = 750;

/** `404 Not Found: <body>`, the body cut at 750 bytes, as the vendor words a failed status. */
export function statusErrorText(status: number, body: Buffer): string {
  const line = `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  if (body.length === 0) return line;
  if (body.length > STATUS_ERROR_BODY_BYTES) return `${line}: ${body.subarray(0, STATUS_ERROR_BODY_BYTES).toString('utf8')}... [truncated]`;
  return `${line}: ${body.toString('utf8')}`;
}

/**
 * A status that fails the action. Listed in `errorOnStatus`: 429 and 5xx may succeed later and
 * are retried. Any other 4xx/5xx fails as the vendor fails it, once (a non-idempotent request
 * that answered 500 may have done its work).
 */
export function statusError(status: number, target: string, body: Buffer, listed: boolean): ParError {
  const retryable = listed && (status === 429 || status >= 500);
  const text = listed
    ? `response status code ${status} is in errorOnStatus; ${statusErrorText(status, body)}`
    : statusErrorText(status, body);
  return new ParError(retryable ? 'PAR_ERR_HTTP_STATUS_RETRYABLE' : 'PAR_ERR_HTTP_STATUS', `${target}: ${text}`);
}

export function responseTooLarge(capBytes: number, target: string): ParError {
  return new ParError('PAR_ERR_HTTP_RESPONSE_TOO_LARGE', `${target}: more than ${capBytes} bytes`);
}
