/**
 * The one place where the PostgreSQL bundle turns what went wrong into an error code, and so
 * decides what is retried: a refused or reset connection, too many connections, a serialization
 * failure or deadlock may succeed next time; a syntax error, a denied privilege, a write in the
 * read-only transaction or bad parameters will not.
 *
 * Messages: while connecting, only the SQLSTATE or socket code is kept (the server's text names
 * the user, the host or the database, which are credential values). Once the statement runs the
 * server's own message is kept, since it is what explains a failed query.
 */
import { ParError } from '../../errors/par-error.js';
import type { ErrorCode } from '../../errors/codes.js';
import { loadedPg } from './library.js';

export type FailurePhase = 'connect' | 'query';

const SOCKET_CODES: ReadonlySet<string> = new Set([
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
]);

const TLS_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** pg reports these without a code; its wording is the only signal. */
const PG_TLS_UNSUPPORTED = 'The server does not support SSL connections';
const PG_CONNECTION_LOST = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Client has encountered a connection error/,
];

/** The sslmode allow/prefer fallback: the server answered "no TLS here". */
export function isTlsUnsupported(error: unknown): boolean {
  return error instanceof Error && error.message === PG_TLS_UNSUPPORTED;
}

/** SQLSTATE (five characters) -> code. Exact codes first, then the two-character class. */
const SQLSTATE: Readonly<Record<string, ErrorCode>> = {
  '25006': 'PAR_ERR_POSTGRES_READ_ONLY', // read_only_sql_transaction
  '42501': 'PAR_ERR_POSTGRES_PERMISSION_DENIED', // insufficient_privilege
  '57014': 'PAR_ERR_POSTGRES_STATEMENT_TIMEOUT', // query_canceled (our statement_timeout; our own cancel is caught first)
  '08P01': 'PAR_ERR_POSTGRES_QUERY_INVALID', // protocol_violation: wrong number of bound parameters
  '3D000': 'PAR_ERR_POSTGRES_AUTH', // invalid_catalog_name: no such database
  '53300': 'PAR_ERR_POSTGRES_CONNECT', // too_many_connections
  '57P01': 'PAR_ERR_POSTGRES_CONNECT', // admin_shutdown
  '57P02': 'PAR_ERR_POSTGRES_CONNECT', // crash_shutdown
  '57P03': 'PAR_ERR_POSTGRES_CONNECT', // cannot_connect_now (starting up, recovering)
  '57P04': 'PAR_ERR_POSTGRES_AUTH', // database_dropped
  '55P03': 'PAR_ERR_POSTGRES_TRANSIENT', // lock_not_available
  '55006': 'PAR_ERR_POSTGRES_TRANSIENT', // object_in_use
};

const SQLSTATE_CLASS: Readonly<Record<string, ErrorCode>> = {
  '08': 'PAR_ERR_POSTGRES_CONNECT', // connection exception
  '28': 'PAR_ERR_POSTGRES_AUTH', // invalid authorization specification
  '40': 'PAR_ERR_POSTGRES_TRANSIENT', // transaction rollback: serialization failure, deadlock
  '53': 'PAR_ERR_POSTGRES_TRANSIENT', // insufficient resources
  '0A': 'PAR_ERR_POSTGRES_QUERY_INVALID', // feature not supported
  '21': 'PAR_ERR_POSTGRES_QUERY_INVALID', // cardinality violation
  '22': 'PAR_ERR_POSTGRES_QUERY_INVALID', // data exception (bad parameter value, division by zero)
  '25': 'PAR_ERR_POSTGRES_QUERY_INVALID', // invalid transaction state (the statement tried to end or change it)
  '26': 'PAR_ERR_POSTGRES_QUERY_INVALID', // invalid SQL statement name
  '34': 'PAR_ERR_POSTGRES_QUERY_INVALID', // invalid cursor name
  '42': 'PAR_ERR_POSTGRES_QUERY_INVALID', // syntax error or access rule violation
  '54': 'PAR_ERR_POSTGRES_QUERY_INVALID', // program limit exceeded
  P0: 'PAR_ERR_POSTGRES_QUERY_INVALID', // PL/pgSQL RAISE
};

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export interface FailureContext {
  readonly phase: FailurePhase;
  /** The task's signal: aborted when the lifecycle left `executing` (deadline or cancel). */
  readonly taskSignal: AbortSignal;
  readonly statementTimeoutMs?: number | undefined;
}

export function classifyPostgresError(error: unknown, ctx: FailureContext): ParError {
  if (error instanceof ParError) return error;
  // Our own cancel surfaces as a query_canceled or a lost connection; the signal says why.
  if (ctx.taskSignal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', 'the statement was cancelled', { cause: error });
  const code = codeOf(error);

  const pg = loadedPg();
  if (pg && error instanceof pg.DatabaseError && code) {
    const mapped = SQLSTATE[code] ?? SQLSTATE_CLASS[code.slice(0, 2)] ?? 'PAR_ERR_ACTION_FAILED';
    if (mapped === 'PAR_ERR_POSTGRES_STATEMENT_TIMEOUT') {
      return new ParError(mapped, `SQLSTATE ${code}: no result within the ${ctx.statementTimeoutMs ?? '?'} ms statement timeout`, {
        cause: error,
      });
    }
    const detail = ctx.phase === 'connect' ? `SQLSTATE ${code}` : `SQLSTATE ${code}: ${error.message}`;
    return new ParError(mapped, detail, { cause: error });
  }
  if (code && SOCKET_CODES.has(code)) return new ParError('PAR_ERR_POSTGRES_CONNECT', code, { cause: error });
  if (code && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) {
    return new ParError('PAR_ERR_POSTGRES_TLS', code, { cause: error });
  }
  if (isTlsUnsupported(error))
    return new ParError('PAR_ERR_POSTGRES_TLS', 'the server does not offer TLS and sslmode requires it', { cause: error });
  const message = error instanceof Error ? error.message : '';
  if (PG_CONNECTION_LOST.some((re) => re.test(message))) {
    return new ParError('PAR_ERR_POSTGRES_CONNECT', ctx.phase === 'connect' ? 'connection failed or timed out' : 'connection lost', {
      cause: error,
    });
  }
  // A value pg cannot bind (it throws before sending anything).
  if (ctx.phase === 'query' && error instanceof TypeError)
    return new ParError('PAR_ERR_POSTGRES_QUERY_INVALID', error.message, { cause: error });
  return new ParError('PAR_ERR_ACTION_FAILED', `${ctx.phase}: ${code ?? (error instanceof Error ? error.name : 'error')}`, {
    cause: error,
  });
}
