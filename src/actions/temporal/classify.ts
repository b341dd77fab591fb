/**
 * The one place where the Temporal bundle turns what went wrong into an error code, and so
 * decides what is retried. The client reports gRPC status codes (directly, or as the `cause` of
 * its ServiceError / WorkflowNotFoundError wrappers):
 *
 * - UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, DEADLINE_EXCEEDED, UNKNOWN, INTERNAL, a CANCELLED
 *   we did not ask for: the server or the network may recover -> PAR_ERR_TEMPORAL_UNAVAILABLE,
 *   retryable (the vendor retries the same set). Unless the reason is a TLS failure (certificate
 *   not trusted, wrong name, handshake alert): that will not fix itself -> PAR_ERR_TEMPORAL_TLS.
 * - NOT_FOUND (namespace, workflow or run), INVALID_ARGUMENT / FAILED_PRECONDITION / OUT_OF_RANGE
 *   (bad query, missing task queue), ALREADY_EXISTS (the workflow id is running),
 *   UNAUTHENTICATED / PERMISSION_DENIED, anything else: final.
 * - The workflow itself failed, was terminated, cancelled or timed out: final,
 *   PAR_ERR_TEMPORAL_WORKFLOW_FAILED with the failure's message.
 *
 * Messages: for connection-level failures only the status name is kept (grpc-js details name the
 * address, which is a credential token); for the server's answers its `details` are kept, since
 * they explain the refusal (names of namespaces and workflows, never credentials).
 */
import { ParError } from '../../errors/par-error.js';
import type { ErrorCode } from '../../errors/codes.js';

/** gRPC status codes (grpc/status.proto; the same numbers in every gRPC implementation). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
const STATUS_NAME = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

const BY_STATUS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [GrpcStatus.CANCELLED, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.UNKNOWN, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.DEADLINE_EXCEEDED, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.RESOURCE_EXHAUSTED, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.ABORTED, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.INTERNAL, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.UNAVAILABLE, 'PAR_ERR_TEMPORAL_UNAVAILABLE'],
  [GrpcStatus.NOT_FOUND, 'PAR_ERR_TEMPORAL_NOT_FOUND'],
  [GrpcStatus.INVALID_ARGUMENT, 'PAR_ERR_TEMPORAL_INVALID'],
  [GrpcStatus.FAILED_PRECONDITION, 'PAR_ERR_TEMPORAL_INVALID'],
  [GrpcStatus.OUT_OF_RANGE, 'PAR_ERR_TEMPORAL_INVALID'],
  [GrpcStatus.ALREADY_EXISTS, 'PAR_ERR_TEMPORAL_ALREADY_STARTED'],
  [GrpcStatus.PERMISSION_DENIED, 'PAR_ERR_TEMPORAL_UNAUTHORIZED'],
  [GrpcStatus.UNAUTHENTICATED, 'PAR_ERR_TEMPORAL_UNAUTHORIZED'],
]);

/** Connection-level statuses: their details describe the socket (and name the address). */
const CONNECTION_LEVEL: ReadonlySet<number> = new Set([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.CANCELLED,
  GrpcStatus.UNKNOWN,
  GrpcStatus.INTERNAL,
  GrpcStatus.DEADLINE_EXCEEDED,
]);

/** What a failed TLS handshake looks like in grpc-js details (OpenSSL and Node's own wording). */
const TLS_FAILURE = /certificate|SSL|TLS|handshake|altnames|Hostname\/IP does not match|self[- ]signed/i;

/** The SDK's error classes for a workflow that closed without a result. */
const WORKFLOW_OUTCOME = new Set(['WorkflowFailedError', 'WorkflowContinuedAsNewError']);

interface GrpcLike {
  readonly code: number;
  readonly details: string;
}

function grpcStatusOf(error: unknown, depth = 0): GrpcLike | undefined {
  if (depth > 5 || error === null || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; details?: unknown; metadata?: unknown; cause?: unknown };
  if (typeof e.code === 'number' && typeof e.details === 'string' && e.metadata !== undefined) return { code: e.code, details: e.details };
  return grpcStatusOf(e.cause, depth + 1);
}

function workflowFailureMessage(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  const reason = cause instanceof Error && cause.message ? cause.message : undefined;
  return reason && reason !== error.message ? `${error.message}: ${reason}` : error.message;
}

export interface TemporalFailureContext {
  /** The task's signal: aborted when the lifecycle left `executing` (deadline or cancel). */
  readonly signal: AbortSignal;
  /** What was being done, for the message: `connect`, `StartWorkflowExecution`... */
  readonly operation: string;
}

export function classifyTemporalError(error: unknown, ctx: TemporalFailureContext): ParError {
  if (error instanceof ParError) return error;
  if (ctx.signal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', `${ctx.operation}: aborted`, { cause: error });
  if (error instanceof Error && WORKFLOW_OUTCOME.has(error.name)) {
    return new ParError('PAR_ERR_TEMPORAL_WORKFLOW_FAILED', workflowFailureMessage(error), { cause: error });
  }
  if (error instanceof Error && error.name === 'WorkflowNotFoundError')
    return new ParError('PAR_ERR_TEMPORAL_NOT_FOUND', `${ctx.operation}: ${error.message}`, { cause: error });
  if (error instanceof Error && error.name === 'WorkflowExecutionAlreadyStartedError') {
    return new ParError('PAR_ERR_TEMPORAL_ALREADY_STARTED', `${ctx.operation}: ${error.message}`, { cause: error });
  }
  const status = grpcStatusOf(error);
  if (status) {
    const name = STATUS_NAME.get(status.code) ?? `status ${status.code}`;
    if (CONNECTION_LEVEL.has(status.code)) {
      if (TLS_FAILURE.test(status.details))
        return new ParError('PAR_ERR_TEMPORAL_TLS', `${ctx.operation}: ${name} (TLS handshake failed)`, { cause: error });
      return new ParError(BY_STATUS.get(status.code) ?? 'PAR_ERR_TEMPORAL_UNAVAILABLE', `${ctx.operation}: ${name}`, { cause: error });
    }
    const code = BY_STATUS.get(status.code) ?? 'PAR_ERR_TEMPORAL_RPC_FAILED';
    return new ParError(code, `${ctx.operation}: ${name}${status.details ? `: ${status.details}` : ''}`, { cause: error });
  }
  // Payload conversion (a result the default data converter cannot decode) and the like.
  const what = error instanceof Error ? error.name : 'error';
  return new ParError('PAR_ERR_TEMPORAL_RPC_FAILED', `${ctx.operation}: ${what}`, { cause: error });
}
