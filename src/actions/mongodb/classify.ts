/**
 * The one place where the MongoDB bundle turns what went wrong into an error code, and so decides
 * what is retried: no selectable server, a reset socket, a stepped-down primary or a shutting-down
 * server may pass; a refused login, a missing privilege, a duplicate key or an invalid command
 * will not. Recognised by the driver's error class names and the server's numeric codes, not by
 * `instanceof` (the driver is loaded lazily) and not by wording.
 *
 * Messages: for connection and login failures only the class and code are kept (the driver's text
 * names the host, which is a credential value). A server's rejection of a command keeps its
 * message, which is what explains it; it carries the task's own data at most.
 */
import { ParError } from '../../errors/par-error.js';

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
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** Server error codes that mean "try again": the server or the primary is changing. */
const TRANSIENT_SERVER_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

const AUTH_SERVER_CODES: ReadonlySet<number> = new Set([
  18, // AuthenticationFailed
  334, // MechanismUnavailable
]);

const NETWORK_CLASSES: ReadonlySet<string> = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
]);

/** Driver-side refusals before anything is sent: the task's inputs are at fault. */
const INVALID_CLASSES: ReadonlySet<string> = new Set([
  'MongoInvalidArgumentError',
  'MongoAPIError',
  'MongoCompatibilityError',
  'BSONError',
  'BSONVersionError',
  'MongoBatchReExecutionError',
]);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name || error.constructor.name : 'error';
}

function numericCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function labels(error: unknown): string[] {
  const l = (error as { errorLabels?: unknown } | null)?.errorLabels;
  if (Array.isArray(l)) return l.filter((x): x is string => typeof x === 'string');
  const set = (error as { errorLabelSet?: unknown } | null)?.errorLabelSet;
  return set instanceof Set ? [...set].filter((x): x is string => typeof x === 'string') : [];
}

/** The error and its causes (server selection errors carry the last network error as a reason). */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  let cur: unknown = error;
  for (let i = 0; i < 8 && cur !== null && cur !== undefined && !out.includes(cur); i++) {
    out.push(cur);
    const next = (cur as { cause?: unknown }).cause;
    const reason = (cur as { reason?: { servers?: Map<string, { error?: unknown }> } }).reason;
    if (next !== undefined) {
      cur = next;
    } else if (reason?.servers instanceof Map) {
      cur = [...reason.servers.values()].map((s) => s.error).find((e) => e !== undefined && e !== null);
    } else {
      cur = undefined;
    }
  }
  return out;
}

function isTlsFailure(error: unknown): boolean {
  return chain(error).some((e) => {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) return true;
    // Node's wording when the peer closes during the handshake: a server without TLS does so on a
    // ClientHello (mongod: "SSL handshake received but server is started without SSL support").
    const message = e instanceof Error ? e.message : '';
    return /before secure TLS connection was established|SSL routines|wrong version number/i.test(message);
  });
}

export interface MongoFailureContext {
  /** The task's signal: aborted when the lifecycle left `executing` (deadline or cancel). */
  readonly taskSignal: AbortSignal;
}

export function classifyMongoError(error: unknown, ctx: MongoFailureContext): ParError {
  if (error instanceof ParError) return error;
  if (ctx.taskSignal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', 'the MongoDB operation was aborted', { cause: error });
  const name = errorName(error);
  const code = numericCode(error);
  const codeName = (error as { codeName?: unknown } | null)?.codeName;
  const tag = `${name}${code !== undefined ? ` ${code}` : ''}${typeof codeName === 'string' ? ` ${codeName}` : ''}`;
  const message = error instanceof Error ? error.message : String(error);

  // Auth first: a failed handshake surfaces as a server error with code 18, sometimes wrapped.
  const auth = chain(error).find((e) => AUTH_SERVER_CODES.has(numericCode(e) ?? -1));
  if (auth) return new ParError('PAR_ERR_MONGODB_AUTH', `code ${numericCode(auth)}`, { cause: error });
  if (name === 'MongoMissingCredentialsError' || name === 'MongoParseError' || name === 'MongoMissingDependencyError') {
    return new ParError('PAR_ERR_MONGODB_CREDENTIALS_INVALID', name, { cause: error });
  }
  if (isTlsFailure(error)) return new ParError('PAR_ERR_MONGODB_TLS', name, { cause: error });
  if (code === 13) return new ParError('PAR_ERR_MONGODB_PERMISSION_DENIED', message, { cause: error });
  if (NETWORK_CLASSES.has(name)) return new ParError('PAR_ERR_MONGODB_CONNECT', name, { cause: error });
  const errorLabels = labels(error);
  if (
    (code !== undefined && TRANSIENT_SERVER_CODES.has(code)) ||
    errorLabels.includes('RetryableWriteError') ||
    errorLabels.includes('TransientTransactionError')
  ) {
    return new ParError('PAR_ERR_MONGODB_TRANSIENT', tag, { cause: error });
  }
  // A bulk write reports its first write error (duplicate key, validation) with the server's text.
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  const firstWrite = Array.isArray(writeErrors) ? (writeErrors[0] as { errmsg?: unknown; code?: unknown } | undefined) : undefined;
  if (firstWrite && typeof firstWrite.errmsg === 'string') {
    return new ParError('PAR_ERR_MONGODB_COMMAND_FAILED', `code ${String(firstWrite.code)}: ${firstWrite.errmsg}`, { cause: error });
  }
  if (name === 'MongoServerError' || name === 'MongoBulkWriteError' || name === 'MongoWriteConcernError') {
    return new ParError('PAR_ERR_MONGODB_COMMAND_FAILED', `${tag}: ${message}`, { cause: error });
  }
  if (INVALID_CLASSES.has(name) || error instanceof TypeError || error instanceof RangeError) {
    return new ParError('PAR_ERR_MONGODB_COMMAND_FAILED', message, { cause: error });
  }
  return new ParError('PAR_ERR_ACTION_FAILED', tag, { cause: error });
}
