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
  PAR_ERR_AUTH_RUNNER_UNKNOWN: {
    message: 'The runner is not enrolled (deleted, or enrolled with another control plane)',
    retryable: false,
    httpStatus: 401,
  },
  PAR_ERR_RATE_LIMITED: { message: 'Too many requests', retryable: true, httpStatus: 429 },
  PAR_ERR_INTERNAL: { message: 'Internal error', retryable: true, httpStatus: 500 },

  // enrollment
  PAR_ERR_ENROLL_NAME_TAKEN: { message: 'A runner with this name is already enrolled in the org', retryable: false, httpStatus: 409 },
  PAR_ERR_ENROLL_IDENTITY_INVALID: {
    message: 'The runner identity file in the config dir is unreadable or malformed',
    retryable: false,
    httpStatus: 500,
  },

  // enrollment tokens (created with a runner from the page or API; one-time, expiring)
  PAR_ERR_ENROLL_TOKEN_INVALID: {
    message: 'The enrollment token is not known (mistyped, replaced by a newer one, or its runner was deleted)',
    retryable: false,
    httpStatus: 401,
  },
  PAR_ERR_ENROLL_TOKEN_USED: {
    message: 'The enrollment token was already used: each token enrolls one runner once',
    retryable: false,
    httpStatus: 401,
  },
  PAR_ERR_ENROLL_TOKEN_EXPIRED: {
    message: 'The enrollment token has expired: create a new one for the runner',
    retryable: false,
    httpStatus: 401,
  },
  PAR_ERR_ENROLL_ALREADY_ENROLLED: {
    message: 'The runner is already enrolled: a new enrollment token is only issued for a runner that never enrolled',
    retryable: false,
    httpStatus: 409,
  },

  // leases and results
  PAR_ERR_LEASE_STALE: { message: 'The lease token is not the current one for this task', retryable: false, httpStatus: 409 },
  PAR_ERR_RUNNER_DELETED: { message: 'The runner was deleted before the task finished', retryable: false, httpStatus: 410 },
  PAR_ERR_LEASE_EXPIRED: {
    message: 'The task was leased too many times without a result (runner lost)',
    retryable: false,
    httpStatus: 409,
  },

  // task verification on the runner and in the worker
  PAR_ERR_TASK_MALFORMED: { message: 'The task is malformed', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_SIGNATURE_INVALID: {
    message: 'The task signature is missing, forged or does not match its contents',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_TASK_EXPIRED: { message: 'The task expired before the runner accepted it', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_WRONG_RUNNER: { message: 'The task was signed for another runner', retryable: false, httpStatus: 400 },
  PAR_ERR_TASK_REPLAYED: {
    message: 'The task was already accepted under another lease of this delivery',
    retryable: false,
    httpStatus: 400,
  },
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
  // com.datadoghq.http: runner-side network policy, TLS, connection auth (src/actions/http/README.md)
  PAR_ERR_HTTP_HOST_NOT_ALLOWED: {
    message: 'The target host is not in the runner HTTP host allowlist (PAR_HTTP_HOST_ALLOWLIST)',
    retryable: false,
    httpStatus: 403,
  },
  PAR_ERR_HTTP_ADDRESS_BLOCKED: {
    message:
      'The target is or resolves to a blocked address (link-local or cloud metadata range unless PAR_HTTP_ALLOW_METADATA_ADDRESSES, 0.0.0.0/8, loopback with PAR_HTTP_DENY_LOOPBACK)',
    retryable: false,
    httpStatus: 403,
  },
  PAR_ERR_HTTP_FORBIDDEN_HEADER: {
    message:
      'A request header the runner sets itself or that forges proxy information was given (host, content-length, forwarded family...)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_HTTP_TLS: {
    message: 'The TLS handshake failed (certificate not trusted, expired or for another name)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_HTTP_TOO_MANY_REDIRECTS: {
    message: 'The target redirected too many times, or to a non-HTTP URL',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_HTTP_RESPONSE_NOT_JSON: {
    message: 'responseParsing is json but the response body is not valid JSON',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_HTTP_CONNECTION_INVALID: {
    message: 'The HTTP connection settings are invalid (baseUrl, header or URL parameter templates)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_HTTP_TOKEN_UNKNOWN: {
    message: 'A connection template names a token that the credential file does not hold',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION: {
    message: 'The request URL is not on the origin of the connection baseUrl',
    retryable: false,
    httpStatus: 400,
  },

  // com.datadoghq.postgresql (classified in src/actions/postgresql/classify.ts)
  PAR_ERR_POSTGRES_CREDENTIALS_INVALID: {
    message: 'The connection credentials lack a PostgreSQL token or hold an invalid one',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_POSTGRES_CONNECT: {
    message: 'Could not connect to PostgreSQL (refused, reset, timed out, too many connections, server starting or stopping)',
    retryable: true,
    httpStatus: 502,
  },
  PAR_ERR_POSTGRES_TLS: {
    message: 'The TLS handshake with PostgreSQL failed or the server does not offer TLS (sslmode)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_POSTGRES_AUTH: {
    message: 'PostgreSQL refused the login (user, password, database or pg_hba.conf)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_POSTGRES_READ_ONLY: {
    message: 'The statement is not one read (a write, COPY, a command, several statements) or calls a refused function',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_POSTGRES_PERMISSION_DENIED: {
    message: 'PostgreSQL denied the user a privilege the statement needs',
    retryable: false,
    httpStatus: 403,
  },
  PAR_ERR_POSTGRES_QUERY_INVALID: {
    message: 'PostgreSQL rejected the statement (syntax, unknown object, parameters or data)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_POSTGRES_STATEMENT_TIMEOUT: {
    message: 'The statement ran longer than its statement timeout and was cancelled',
    retryable: false,
    httpStatus: 504,
  },
  PAR_ERR_POSTGRES_TRANSIENT: {
    message: 'PostgreSQL reported a transient failure (serialization failure, deadlock, lock or resource shortage)',
    retryable: true,
    httpStatus: 503,
  },

  // com.datadoghq.script
  PAR_ERR_SCRIPT_CONFIG_INVALID: {
    message: 'The script config file is missing, unreadable or malformed',
    retryable: false,
    httpStatus: 500,
  },
  PAR_ERR_SCRIPT_NOT_FOUND: { message: 'No script of this name is declared in the script config', retryable: false, httpStatus: 404 },
  PAR_ERR_SCRIPT_PARAMETERS_INVALID: {
    message: 'The script parameters do not match its parameter schema or its command template',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_SCRIPT_SPAWN_FAILED: { message: 'The script command could not be started', retryable: false, httpStatus: 500 },
  PAR_ERR_SCRIPT_SPAWN_BUSY: {
    message: 'The worker lacked the resources to start the script (EAGAIN, EMFILE, ENOMEM)',
    retryable: true,
    httpStatus: 503,
  },
  PAR_ERR_SCRIPT_EXIT_NONZERO: { message: 'The script exited with a non-zero status', retryable: false, httpStatus: 500 },
  PAR_ERR_SCRIPT_OUTPUT_TOO_LARGE: {
    message: 'The script wrote more than the output cap to stdout and stderr',
    retryable: false,
    httpStatus: 500,
  },
  PAR_ERR_SCRIPT_PWSH_UNAVAILABLE: { message: 'PowerShell (pwsh) is not installed on this runner', retryable: false, httpStatus: 501 },

  // admin API: access control, keys, connections (issue 4, area A)
  PAR_ERR_AUTH_APP_KEY_REVOKED: { message: 'The application key was revoked', retryable: false, httpStatus: 403 },
  PAR_ERR_RUNNER_IN_USE: {
    message: 'The runner is still used by connections (delete them first, or force)',
    retryable: false,
    httpStatus: 409,
  },
  PAR_ERR_CONNECTION_IN_USE: { message: 'The connection is used by queued or running tasks', retryable: false, httpStatus: 409 },
  PAR_ERR_CONNECTION_NAME_TAKEN: { message: 'A connection with this name already exists on the runner', retryable: false, httpStatus: 409 },
  PAR_ERR_CONNECTION_RUNNER_MISMATCH: {
    message: 'The connection belongs to another runner than the task',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_SECRET_REFUSED: {
    message:
      'The request carries a secret; the control plane never accepts or stores secrets (put them in the credential file on the runner)',
    retryable: false,
    httpStatus: 400,
  },
  // com.datadoghq.kubernetes.core / .apps / .batch (issue 3, Kubernetes)
  PAR_ERR_K8S_CONFIG_INVALID: {
    message: 'The Kubernetes connection configuration (kubeconfig, context, in-cluster account) is unusable',
    retryable: false,
    httpStatus: 500,
  },
  PAR_ERR_K8S_CONNECT: { message: 'Could not connect to the Kubernetes API server', retryable: true, httpStatus: 502 },
  PAR_ERR_K8S_UNAUTHORIZED: {
    message: 'The Kubernetes API server did not accept the credentials (401)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_K8S_FORBIDDEN: {
    message: 'The Kubernetes API server forbids this request to these credentials (403)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_K8S_NOT_FOUND: { message: 'The Kubernetes object or namespace does not exist (404)', retryable: false, httpStatus: 502 },
  PAR_ERR_K8S_CONFLICT: {
    message: 'The Kubernetes object already exists or was modified concurrently (409)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_K8S_INVALID: {
    message: 'The Kubernetes API server rejected the object or request as invalid (400/422)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_K8S_STATUS_RETRYABLE: {
    message: 'The Kubernetes API server answered with a retryable status (429 or 5xx)',
    retryable: true,
    httpStatus: 502,
  },
  PAR_ERR_K8S_STATUS: { message: 'The Kubernetes API server answered with an unexpected status', retryable: false, httpStatus: 502 },
  PAR_ERR_K8S_RESPONSE_TOO_LARGE: { message: 'The Kubernetes API response exceeds the size cap', retryable: false, httpStatus: 502 },
  PAR_ERR_K8S_ROLLBACK_UNAVAILABLE: {
    message: 'The deployment cannot be rolled back (paused, or no such previous revision)',
    retryable: false,
    httpStatus: 409,
  },
  // Config-dir files (credential files, kubeconfigs, script configs) and plugin output (issue 7, files and kube plugins)
  PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR: {
    message: 'The file path is absolute, contains "..", or leads (through a symlink) outside the config dir',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_FILE_NOT_REGULAR: {
    message: 'The file is not a regular file (a FIFO, device, directory or socket)',
    retryable: false,
    httpStatus: 500,
  },
  PAR_ERR_FILE_TOO_LARGE: { message: 'The file is larger than its size cap', retryable: false, httpStatus: 500 },
  PAR_ERR_FILE_READ_TIMEOUT: { message: 'The file could not be read within its deadline', retryable: false, httpStatus: 500 },
  PAR_ERR_K8S_AUTH_PLUGIN_FAILED: {
    message: 'The kubeconfig credential plugin (exec or auth-provider command) failed; its output is not shown',
    retryable: false,
    httpStatus: 502,
  },
  // com.datadoghq.http: credentials bound to their origin, worker side (issue 7; src/actions/http/README.md)
  PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED: {
    message: 'The HTTP connection has a credential file but no baseUrl: its credentials must be bound to one origin',
    retryable: false,
    httpStatus: 400,
  },
  // com.datadoghq.script sandbox (issue 7, scripts in a box)
  PAR_ERR_SCRIPT_SANDBOX_FAILED: {
    message: 'The script sandbox (bubblewrap) could not be built or could not start the program',
    retryable: false,
    httpStatus: 500,
  },
  // key rotation: control-plane signing keys and runner identities (issue 7, keys that can be rotated)
  PAR_ERR_TASK_KEY_RETIRED: {
    message: 'The task is signed with a control-plane key that has been retired',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_KEYS_UNTRUSTED: {
    message: 'The key-fetch answer holds a key no trusted key endorses, or was tampered with',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_IDENTITY_ROTATION_INVALID: {
    message: 'The identity rotation request is not valid (wrong or stale proof, replay, or not signed with the current key)',
    retryable: false,
    httpStatus: 401,
  },
  PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT: {
    message: 'Another rotation of the signing key happened at the same time; run it again',
    retryable: true,
    httpStatus: 409,
  },
  // runner/worker reliability: every lease ends (issue 8)
  PAR_ERR_WORKER_LOST: {
    message: 'The worker running this task was lost (it stopped or stalled too often) and the task ended without a result',
    retryable: false,
    httpStatus: 500,
  },
  // idempotent task submission: the Idempotency-Key header of POST /api/v1/tasks (issue 8)
  PAR_ERR_IDEMPOTENCY_KEY_INVALID: {
    message: 'The Idempotency-Key header is malformed (1-255 characters of A-Z a-z 0-9 . _ ~ : + / = -, given once)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_IDEMPOTENCY_KEY_REUSED: {
    message: 'This Idempotency-Key was already used for a different request within its window',
    retryable: false,
    httpStatus: 422,
  },
  // com.datadoghq.jenkins (issue 13, Jenkins; src/actions/jenkins/)
  PAR_ERR_JENKINS_CREDENTIALS_INVALID: {
    message: 'The Jenkins connection needs a Token Auth credential file with username, token and an http(s) domain',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_JENKINS_CONNECT: { message: 'Could not connect to the Jenkins controller', retryable: true, httpStatus: 502 },
  PAR_ERR_JENKINS_TLS: { message: 'The TLS handshake with the Jenkins controller failed', retryable: false, httpStatus: 502 },
  PAR_ERR_JENKINS_UNAUTHORIZED: { message: 'Jenkins did not accept the user name and API token (401)', retryable: false, httpStatus: 502 },
  PAR_ERR_JENKINS_FORBIDDEN: {
    message: 'Jenkins forbids this request to this user, or refused its CSRF crumb (403)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_JENKINS_NOT_FOUND: { message: 'The Jenkins job or build does not exist (404)', retryable: false, httpStatus: 502 },
  PAR_ERR_JENKINS_STATUS: { message: 'Jenkins answered with an unexpected status', retryable: false, httpStatus: 502 },
  PAR_ERR_JENKINS_STATUS_RETRYABLE: {
    message: 'Jenkins answered with a retryable status (429, 503, or 5xx to a read)',
    retryable: true,
    httpStatus: 502,
  },
  PAR_ERR_JENKINS_RESPONSE_INVALID: {
    message: 'Jenkins answered with a body the action cannot read (not JSON, no crumb, or over the response cap)',
    retryable: false,
    httpStatus: 502,
  },
  // com.datadoghq.gitlab.* (issue 13, GitLab; src/actions/gitlab/)
  PAR_ERR_GITLAB_CREDENTIALS_INVALID: {
    message: 'The GitLab connection needs a Token Auth credential file with gitlabApiToken (and optionally an http(s) baseURL)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_GITLAB_CONNECT: { message: 'Could not connect to the GitLab server', retryable: true, httpStatus: 502 },
  PAR_ERR_GITLAB_UNAUTHORIZED: { message: 'GitLab did not accept the token (401)', retryable: false, httpStatus: 502 },
  PAR_ERR_GITLAB_FORBIDDEN: { message: 'GitLab forbids this request to this token (403)', retryable: false, httpStatus: 502 },
  PAR_ERR_GITLAB_NOT_FOUND: {
    message: 'GitLab found no such resource, or the token may not see it (404)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_GITLAB_REJECTED: {
    message: 'GitLab rejected the request (400, 405, 409, 422 or another 4xx)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_GITLAB_STATUS_RETRYABLE: { message: 'GitLab answered with a retryable status (429 or 5xx)', retryable: true, httpStatus: 502 },
  PAR_ERR_GITLAB_STATUS: {
    message: 'GitLab answered with an unexpected status (a redirect or other non-2xx)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_GITLAB_RESPONSE_TOO_LARGE: { message: 'The GitLab response exceeds the size cap', retryable: false, httpStatus: 502 },
  // com.datadoghq.mongodb (issue 13; classified in src/actions/mongodb/classify.ts)
  PAR_ERR_MONGODB_CREDENTIALS_INVALID: {
    message: 'The connection credentials lack a MongoDB token or hold an invalid one',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_MONGODB_CONNECT: {
    message: 'Could not reach a usable MongoDB server (refused, reset, timed out, no server selectable, DNS)',
    retryable: true,
    httpStatus: 502,
  },
  PAR_ERR_MONGODB_TLS: {
    message: 'The TLS handshake with MongoDB failed (the tls token does not match the server, or its certificate is refused)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_MONGODB_AUTH: {
    message: 'MongoDB refused the login (username, password, authSource or authMechanism)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_MONGODB_PERMISSION_DENIED: {
    message: 'MongoDB denied the user the privilege the command needs',
    retryable: false,
    httpStatus: 403,
  },
  PAR_ERR_MONGODB_COMMAND_FAILED: {
    message: 'MongoDB rejected the command (duplicate key, bad value, invalid update or index)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_MONGODB_TRANSIENT: {
    message: 'MongoDB reported a transient failure (primary stepped down, shutting down, write conflict)',
    retryable: true,
    httpStatus: 503,
  },
  PAR_ERR_MONGODB_NO_DOCUMENT: {
    message: 'No document matched the filter (findAndModify without upsert)',
    retryable: false,
    httpStatus: 404,
  },
  // The runner's audit trail (issue 13, audit trail; src/runner/audit/)
  PAR_ERR_AUDIT_LOG_INVALID: {
    message: 'The audit log is damaged or was tampered with (run par audit verify)',
    retryable: false,
    httpStatus: 500,
  },
  PAR_ERR_AUDIT_LOG_LOCKED: { message: 'Another live runner process is writing this audit log', retryable: false, httpStatus: 409 },
  PAR_ERR_AUDIT_APPEND_FAILED: {
    message: 'The audit entry could not be written durably; the task is not accepted',
    retryable: true,
    httpStatus: 503,
  },
  // com.datadoghq.temporal (issue 13, Temporal; classified in src/actions/temporal/classify.ts)
  PAR_ERR_TEMPORAL_CREDENTIALS_INVALID: {
    message: 'The Temporal connection lacks an address or holds an invalid token (certificate, key, address)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_TEMPORAL_UNAVAILABLE: {
    message: 'Temporal could not be reached or answered with a transient gRPC status',
    retryable: true,
    httpStatus: 502,
  },
  PAR_ERR_TEMPORAL_TLS: {
    message: 'The TLS handshake with the Temporal frontend failed (certificate not trusted, wrong name, client certificate refused)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_TEMPORAL_UNAUTHORIZED: {
    message: 'Temporal refused the credentials or the namespace access (UNAUTHENTICATED / PERMISSION_DENIED)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_TEMPORAL_NOT_FOUND: { message: 'The Temporal namespace, workflow or run does not exist', retryable: false, httpStatus: 404 },
  PAR_ERR_TEMPORAL_INVALID: {
    message: 'Temporal rejected the request as invalid (query, task queue, workflow type, arguments)',
    retryable: false,
    httpStatus: 400,
  },
  PAR_ERR_TEMPORAL_ALREADY_STARTED: { message: 'A workflow with this id is already running', retryable: false, httpStatus: 409 },
  PAR_ERR_TEMPORAL_WORKFLOW_FAILED: {
    message: 'The workflow closed without a result (failed, terminated, cancelled or timed out)',
    retryable: false,
    httpStatus: 502,
  },
  PAR_ERR_TEMPORAL_RPC_FAILED: {
    message: 'The Temporal call failed (unexpected gRPC status, or a payload the default data converter cannot read)',
    retryable: false,
    httpStatus: 502,
  },
  // task cancellation (issue 11)
  PAR_ERR_TASK_FINISHED: { message: 'The task already has its final result and cannot be cancelled', retryable: false, httpStatus: 409 },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
