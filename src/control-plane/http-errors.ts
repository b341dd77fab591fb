/**
 * One error shape for every HTTP error: `{code, message, retryable}` from a ParError. Validation
 * failures (route schemas: schema-compilers.ts) name the offending field; unexpected errors,
 * including a response that does not match its schema, become PAR_ERR_INTERNAL (logged, never
 * echoed with internals).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ParError, isParError } from '../errors/par-error.js';

/** A zod failure as the 400 PAR_ERR_REQUEST_INVALID naming the field (`where` when the whole value is wrong). */
export function invalidRequest(error: z.ZodError, where: string): ParError {
  const issue = error.issues[0];
  // An unknown field is named by its own path (`connection`, `settings.x`), not its parent's.
  if (issue?.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => [...issue.path.map(String), k].join('.'));
    return new ParError('PAR_ERR_REQUEST_INVALID', `${names.join(', ')}: unknown field${names.length > 1 ? 's' : ''} (${where})`);
  }
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : where;
  return new ParError('PAR_ERR_REQUEST_INVALID', `${field}: ${issue?.message ?? 'invalid'}`);
}

function toHttpError(error: unknown): { status: number; error: ParError } {
  if (isParError(error)) return { status: error.httpStatus, error };
  if (error instanceof z.ZodError) {
    const e = invalidRequest(error, 'request');
    return { status: e.httpStatus, error: e };
  }
  // Fastify's own 4xx (malformed JSON, unsupported media type, body too large) keep their status.
  const status = (error as Partial<FastifyError> | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = error instanceof Error ? error.message : 'invalid request';
    return { status, error: new ParError('PAR_ERR_REQUEST_INVALID', message) };
  }
  return { status: 500, error: new ParError('PAR_ERR_INTERNAL') };
}

/**
 * Errors Fastify's router raises before any route runs (a URL that does not decode, a parameter
 * longer than the router allows): a URL like that names nothing, so 404 in the same shape.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const notFound = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const parError = notFound ? new ParError('PAR_ERR_NOT_FOUND', 'malformed URL') : new ParError('PAR_ERR_REQUEST_INVALID', error.message);
  request.log.info({ code: parError.code, fastifyCode: error.code }, 'request refused');
  void reply.status(parError.httpStatus).send(parError.toBody());
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const { status, error: parError } = toHttpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: parError.code, status }, 'request refused');
    return reply.status(status).send(parError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return reply.status(404).send(new ParError('PAR_ERR_NOT_FOUND', `${request.method} ${path}`).toBody());
  });
}
