/**
 * The one registry of error codes. Every failure that crosses a process boundary (HTTP body, task
 * result, start-up message) carries one of these codes. Callers match on `code`, never on the
 * message. `retryable` is data: the worker retries a task only when its error says so.
 *
 * Adding a code: add it here and to docs/errors.md (test/unit/error-codes.test.ts keeps the two
 * in step).
 */
export interface ErrorCodeSpec {
  readonly message: string;
  readonly retryable: boolean;
  readonly httpStatus: number;
}

export const ERROR_CODES = {
  // configuration
  PAR_ERR_CONFIG_INVALID: { message: 'A configuration setting is invalid', retryable: false, httpStatus: 500 },

  // HTTP API: requests and authentication
  PAR_ERR_REQUEST_INVALID: { message: 'The request body or parameters are invalid', retryable: false, httpStatus: 400 },
  PAR_ERR_NOT_FOUND: { message: 'No such resource', retryable: false, httpStatus: 404 },
  PAR_ERR_AUTH_API_KEY_INVALID: { message: 'The API key is missing or not valid', retryable: false, httpStatus: 401 },
  PAR_ERR_AUTH_APP_KEY_INVALID: { message: 'The application key is missing or not valid', retryable: false, httpStatus: 403 },
  PAR_ERR_AUTH_SCOPE_MISSING: { message: 'The application key lacks a scope this call needs', retryable: false, httpStatus: 403 },
  PAR_ERR_AUTH_FORBIDDEN: { message: 'The caller may not do this', retryable: false, httpStatus: 403 },
  PAR_ERR_AUTH_RUNNER_TOKEN_INVALID: { message: 'The runner token is missing, expired or not valid', retryable: false, httpStatus: 401 },
  PAR_ERR_AUTH_RUNNER_UNKNOWN: { message: 'The runner is not enrolled (deleted, or enrolled with another control plane)', retryable: false, httpStatus: 401 },
  PAR_ERR_RATE_LIMITED: { message: 'Too many requests', retryable: true, httpStatus: 429 },
  PAR_ERR_INTERNAL: { message: 'Internal error', retryable: true, httpStatus: 500 },

  // enrollment
  PAR_ERR_ENROLL_NAME_TAKEN: { message: 'A runner with this name is already enrolled in the org', retryable: false, httpStatus: 409 },
  PAR_ERR_ENROLL_IDENTITY_INVALID: { message: 'The runner identity file in the config dir is unreadable or malformed', retryable: false, httpStatus: 500 },

  // leases and results
  PAR_ERR_LEASE_STALE: { message: 'The lease token is not the current one for this task', retryable: false, httpStatus: 409 },
  PAR_ERR_LEASE_EXPIRED: { message: 'The task was leased too many times without a result (runner lost)', retryable: false, httpStatus: 409 },

  // task verification on the runner and in the worker
  PAR_ERR_TASK_MALFORMED: { message: 'The task is malformed', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_SIGNATURE_INVALID: { message: 'The task signature is missing, forged or does not match its contents', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_EXPIRED: { message: 'The task expired before the runner accepted it', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_WRONG_RUNNER: { message: 'The task was signed for another runner', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_REPLAYED: { message: 'The task was already accepted under another lease of this delivery', retryable: false, httpStatus: 400 },
  PAR_ERR_ACTION_NOT_ALLOWLISTED: { message: 'The action is not in the runner allowlist', retryable: false, httpStatus: 403 },
  PAR_ERR_ACTION_UNKNOWN: { message: 'No such action is implemented by this runner', retryable: false, httpStatus: 400 },

  // task execution (worker)
  PAR_ERR_INPUT_INVALID: { message: 'The action inputs are invalid', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_TIMEOUT: { message: 'The action did not finish within its timeout', retryable: false, httpStatus: 504 },
  PAR_ERR_TASK_CANCELLED: { message: 'The task was cancelled', retryable: false, httpStatus: 409 },
  PAR_ERR_CREDENTIALS_UNAVAILABLE: { message: 'The connection credentials could not be read', retryable: false, httpStatus: 500 },
  PAR_ERR_ACTION_FAILED: { message: 'The action failed', retryable: false, httpStatus: 500 },

  // com.datadoghq.http
  PAR_ERR_HTTP_CONNECT: { message: 'Could not connect to the target', retryable: true, httpStatus: 502 },
  PAR_ERR_HTTP_STATUS: { message: 'The target answered with an error status', retryable: false, httpStatus: 502 },
  PAR_ERR_HTTP_STATUS_RETRYABLE: { message: 'The target answered with a retryable status (429 or 5xx)', retryable: true, httpStatus: 502 },
  PAR_ERR_HTTP_RESPONSE_TOO_LARGE: { message: 'The response body exceeds the size cap', retryable: false, httpStatus: 502 },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
