import { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.js';

/** The wire shape of an error: what a task result or an HTTP error body carries. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

/**
 * An error with a stable code from the registry. `detail` adds context for humans (a setting
 * name, a file path) and must never contain a secret.
 */
export class ParError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly httpStatus: number;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; retryable?: boolean }) {
    const spec = ERROR_CODES[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ParError';
    this.code = code;
    this.retryable = options?.retryable ?? spec.retryable;
    this.httpStatus = spec.httpStatus;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isParError(error: unknown): error is ParError {
  return error instanceof ParError;
}

/** Turns anything thrown into a ParError, keeping a ParError as it is. */
export function toParError(error: unknown, fallback: ErrorCode = 'PAR_ERR_INTERNAL'): ParError {
  if (error instanceof ParError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ParError(fallback, message, { cause: error });
}

/** Rebuilds a ParError from a wire body (for example a control-plane error response). */
export function fromErrorBody(body: unknown, fallback: ErrorCode = 'PAR_ERR_INTERNAL'): ParError {
  if (body && typeof body === 'object' && 'code' in body && isErrorCode(body.code)) {
    const b = body as { code: ErrorCode; message?: unknown };
    const err = new ParError(b.code);
    if (typeof b.message === 'string') err.message = b.message;
    return err;
  }
  return new ParError(fallback, typeof body === 'string' ? body : JSON.stringify(body));
}
