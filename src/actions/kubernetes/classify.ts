/**
 * The one place where the Kubernetes bundles turn what went wrong into an error code.
 *
 * An answer of the API server is final when it says the request itself is wrong (400/422
 * invalid, 401/403 auth, 404 missing, 409 conflict or already exists): repeating it cannot
 * succeed. 429 and 5xx (throttling, etcd or webhook trouble) and failures to connect are
 * retryable. Messages carry the API server's `Status.message` (names, never tokens) and the
 * request as method + path (no query: selectors are harmless, but keep one rule everywhere).
 */
import { errorCodeOf } from '../../errors/error-chain.js';
import { ParError } from '../../errors/par-error.js';
import type { ErrorCode } from '../../errors/codes.js';

const CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** TLS trust failures: a connect failure too, but one that will not fix itself. */
const TLS_CODES: ReadonlySet<string> = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
]);

/** The API server's error body (`kind: Status`), as far as we read it. */
export interface KubeStatus {
  readonly message?: string | undefined;
  readonly reason?: string | undefined;
  readonly code?: number | undefined;
}

export function parseStatus(text: string): KubeStatus | undefined {
  try {
    const doc: unknown = JSON.parse(text);
    if (doc && typeof doc === 'object' && (doc as { kind?: unknown }).kind === 'Status') {
      const s = doc as Record<string, unknown>;
      return {
        message: typeof s['message'] === 'string' ? s['message'] : undefined,
        reason: typeof s['reason'] === 'string' ? s['reason'] : undefined,
        code: typeof s['code'] === 'number' ? s['code'] : undefined,
      };
    }
  } catch {
    // not JSON: a proxy or load balancer answered
  }
  return undefined;
}

/** The error code for an HTTP status from the API server. Exhaustive: every status gets one. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 400 || status === 422) return 'PAR_ERR_K8S_INVALID';
  if (status === 401) return 'PAR_ERR_K8S_UNAUTHORIZED';
  if (status === 403) return 'PAR_ERR_K8S_FORBIDDEN';
  if (status === 404) return 'PAR_ERR_K8S_NOT_FOUND';
  if (status === 409) return 'PAR_ERR_K8S_CONFLICT';
  if (status === 429 || status >= 500) return 'PAR_ERR_K8S_STATUS_RETRYABLE';
  return 'PAR_ERR_K8S_STATUS';
}

export function statusError(status: number, body: string, target: string): ParError {
  const s = parseStatus(body);
  const what = s?.message ? `${s.reason ? `${s.reason}: ` : ''}${s.message}` : `status ${status}`;
  return new ParError(codeForStatus(status), `${target}: ${what} (HTTP ${status})`);
}

/** Anything thrown while talking to the API server (not an HTTP answer) -> a ParError. */
export function classifyKubeError(error: unknown, ctx: { target: string; signal: AbortSignal }): ParError {
  if (error instanceof ParError) return error;
  if (ctx.signal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', `${ctx.target}: aborted`, { cause: error });
  const code = errorCodeOf(error);
  if (code && TLS_CODES.has(code))
    return new ParError('PAR_ERR_K8S_CONNECT', `${ctx.target}: TLS ${code}`, { cause: error, retryable: false });
  if (code && CONNECT_CODES.has(code)) return new ParError('PAR_ERR_K8S_CONNECT', `${ctx.target}: ${code}`, { cause: error });
  return new ParError('PAR_ERR_ACTION_FAILED', `${ctx.target}: ${code ?? (error instanceof Error ? error.message : 'error')}`, {
    cause: error,
  });
}
