/**
 * The one place where the GitLab bundle turns what went wrong into an error code. GitLab's
 * answers that say the request itself is wrong (401, 403, 404, other 4xx) are final; 429 and 5xx
 * and failures to connect are retryable, as go-gitlab's retrying client treats them. Messages
 * name the request by method and path (never the query, never the token) and quote GitLab's own
 * `message` / `error` field, cut at 750 bytes.
 */
import { errorCodeOf, findParError } from '../../errors/error-chain.js';
import { ParError } from '../../errors/par-error.js';
import type { ErrorCode } from '../../errors/codes.js';
import { CONNECT_CODES } from '../connect-codes.js';

function isTlsCode(code: string): boolean {
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT') || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
}

export const ERROR_BODY_BYTES = 750;

/** The error code for a GitLab status. Exhaustive: every non-2xx status gets one. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'PAR_ERR_GITLAB_UNAUTHORIZED';
  if (status === 403) return 'PAR_ERR_GITLAB_FORBIDDEN';
  if (status === 404) return 'PAR_ERR_GITLAB_NOT_FOUND';
  if (status === 429 || status >= 500) return 'PAR_ERR_GITLAB_STATUS_RETRYABLE';
  if (status >= 400) return 'PAR_ERR_GITLAB_REJECTED';
  return 'PAR_ERR_GITLAB_STATUS';
}

/** GitLab's error text: `{"message": ...}` (a string or a field -> errors map) or `{"error": ...}`. */
export function gitlabMessage(body: Buffer): string {
  const text = body.subarray(0, 64 * 1024).toString('utf8');
  let out = text;
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const m = doc['message'] ?? doc['error'];
    if (m !== undefined) out = typeof m === 'string' ? m : JSON.stringify(m);
    if (typeof doc['error_description'] === 'string') out = `${out}: ${doc['error_description']}`;
  } catch {
    // not JSON: a proxy answered; quote its text
  }
  const bytes = Buffer.from(out, 'utf8');
  return bytes.length > ERROR_BODY_BYTES ? `${bytes.subarray(0, ERROR_BODY_BYTES).toString('utf8')}... [truncated]` : out;
}

export function statusError(status: number, target: string, body: Buffer): ParError {
  const message = gitlabMessage(body);
  return new ParError(codeForStatus(status), `${target}: ${status}${message ? ` ${message}` : ''}`);
}

/** Anything thrown while talking to GitLab (not an HTTP answer) -> a ParError. */
export function classifyGitlabError(error: unknown, ctx: { target: string; signal: AbortSignal }): ParError {
  // The network policy's refusals (blocked address, host not allowed) keep their own codes.
  const own = findParError(error);
  if (own) return own;
  if (ctx.signal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', `${ctx.target}: aborted`, { cause: error });
  const code = errorCodeOf(error);
  if (code && isTlsCode(code))
    return new ParError('PAR_ERR_GITLAB_CONNECT', `${ctx.target}: TLS ${code}`, { cause: error, retryable: false });
  if (code && CONNECT_CODES.has(code)) return new ParError('PAR_ERR_GITLAB_CONNECT', `${ctx.target}: ${code}`, { cause: error });
  return new ParError('PAR_ERR_ACTION_FAILED', `${ctx.target}: ${code ?? (error instanceof Error ? error.name : 'error')}`, {
    cause: error,
  });
}
