/**
 * What the result publisher does when the control plane refuses a result, decided per error code.
 * Every code of the platform (control plane, enrollment, leases, task verification) is listed so
 * a new one forces a decision here; action bundles' codes (PAR_ERR_HTTP_*, _K8S_*, _SCRIPT_*,
 * _POSTGRES_*, _JENKINS_*, _GITLAB_*, _MONGODB_*, _TEMPORAL_*) describe task outcomes and never come back as an answer to a publish: they
 * default to `fail`.
 *
 * - `retry`: keep the result and try again later (the control plane is down, overloaded, or
 *   momentarily refuses the runner's token).
 * - `drop`: another delivery owns the task, or the task is gone: reporting this result is moot.
 * - `fail`: the control plane will never accept this result as it is; keep the job as failed in
 *   the dashboard for an operator to look at.
 */
import type { ErrorCode } from '../errors/codes.js';
import type { ParError } from '../errors/par-error.js';
import type { ClientFailureKind } from './control-plane-client.js';

export type PublishDecision = 'retry' | 'drop' | 'fail';

type BundleCode = Extract<
  ErrorCode,
  `PAR_ERR_${'HTTP' | 'K8S' | 'SCRIPT' | 'POSTGRES' | 'POSTGRESQL' | 'JENKINS' | 'GITLAB' | 'MONGODB' | 'TEMPORAL'}_${string}`
>;

const BY_CODE: Record<Exclude<ErrorCode, BundleCode>, PublishDecision> & Partial<Record<BundleCode, PublishDecision>> = {
  PAR_ERR_CONFIG_INVALID: 'fail',
  PAR_ERR_REQUEST_INVALID: 'fail',
  PAR_ERR_NOT_FOUND: 'drop',
  PAR_ERR_AUTH_API_KEY_INVALID: 'retry',
  PAR_ERR_AUTH_APP_KEY_INVALID: 'retry',
  PAR_ERR_AUTH_SCOPE_MISSING: 'retry',
  PAR_ERR_AUTH_FORBIDDEN: 'retry',
  // Clock skew or a key rotation in progress: the token is re-minted, so a later try may pass.
  PAR_ERR_AUTH_RUNNER_TOKEN_INVALID: 'retry',
  // Fatal for the runner (it stops), but the result stays queued in case it is re-enrolled.
  PAR_ERR_AUTH_RUNNER_UNKNOWN: 'retry',
  PAR_ERR_RATE_LIMITED: 'retry',
  PAR_ERR_INTERNAL: 'retry',
  PAR_ERR_ENROLL_NAME_TAKEN: 'fail',
  PAR_ERR_ENROLL_IDENTITY_INVALID: 'fail',
  // Enrollment tokens: answers to enrollment only, never to a publish.
  PAR_ERR_ENROLL_TOKEN_INVALID: 'fail',
  PAR_ERR_ENROLL_TOKEN_USED: 'fail',
  PAR_ERR_ENROLL_TOKEN_EXPIRED: 'fail',
  PAR_ERR_ENROLL_ALREADY_ENROLLED: 'fail',
  // User-API answers (keys, runners, connections): never an answer to a publish.
  PAR_ERR_AUTH_APP_KEY_REVOKED: 'retry',
  PAR_ERR_RUNNER_IN_USE: 'fail',
  PAR_ERR_CONNECTION_IN_USE: 'fail',
  PAR_ERR_CONNECTION_NAME_TAKEN: 'fail',
  PAR_ERR_CONNECTION_RUNNER_MISMATCH: 'fail',
  PAR_ERR_SECRET_REFUSED: 'fail',
  // Answers to task submission only, never to a publish.
  PAR_ERR_IDEMPOTENCY_KEY_INVALID: 'fail',
  PAR_ERR_IDEMPOTENCY_KEY_REUSED: 'fail',
  PAR_ERR_LEASE_STALE: 'drop',
  PAR_ERR_LEASE_EXPIRED: 'drop',
  PAR_ERR_RUNNER_DELETED: 'drop',
  PAR_ERR_TASK_MALFORMED: 'fail',
  PAR_ERR_TASK_SIGNATURE_INVALID: 'fail',
  PAR_ERR_TASK_EXPIRED: 'fail',
  PAR_ERR_TASK_WRONG_RUNNER: 'fail',
  PAR_ERR_TASK_REPLAYED: 'drop',
  // Key rotation: task outcomes or answers to other calls, never an answer to a publish.
  PAR_ERR_TASK_KEY_RETIRED: 'fail',
  PAR_ERR_KEYS_UNTRUSTED: 'fail',
  PAR_ERR_IDENTITY_ROTATION_INVALID: 'retry',
  PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT: 'retry',
  PAR_ERR_ACTION_NOT_ALLOWLISTED: 'fail',
  PAR_ERR_ACTION_UNKNOWN: 'fail',
  PAR_ERR_INPUT_INVALID: 'fail',
  PAR_ERR_TASK_TIMEOUT: 'fail',
  PAR_ERR_TASK_CANCELLED: 'drop',
  PAR_ERR_CREDENTIALS_UNAVAILABLE: 'fail',
  PAR_ERR_ACTION_FAILED: 'fail',
  PAR_ERR_HTTP_CONNECT: 'retry',
  PAR_ERR_HTTP_STATUS: 'fail',
  PAR_ERR_HTTP_STATUS_RETRYABLE: 'retry',
  PAR_ERR_HTTP_RESPONSE_TOO_LARGE: 'fail',
  // Config-dir files: task outcomes, never an answer to a publish.
  PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR: 'fail',
  PAR_ERR_FILE_NOT_REGULAR: 'fail',
  PAR_ERR_FILE_TOO_LARGE: 'fail',
  PAR_ERR_FILE_READ_TIMEOUT: 'fail',
  // A task outcome the runner writes itself (issue 8); never an answer to a publish.
  PAR_ERR_WORKER_LOST: 'fail',
  // The runner's own audit log: local failures, never an answer to a publish.
  PAR_ERR_AUDIT_LOG_INVALID: 'fail',
  PAR_ERR_AUDIT_LOG_LOCKED: 'fail',
  PAR_ERR_AUDIT_APPEND_FAILED: 'fail',
  // An answer to the user's cancel call only, never to a publish.
  PAR_ERR_TASK_FINISHED: 'fail',
};

export function publishDecision(error: ParError, kind: ClientFailureKind, status?: number): PublishDecision {
  // No answer, an aborted request (shutdown), 5xx and 429 are always worth another try.
  if (kind !== 'http' || status === undefined || status >= 500 || status === 429) return 'retry';
  return BY_CODE[error.code] ?? 'fail';
}
