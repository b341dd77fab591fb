/**
 * How route schemas (zod, declared on each route: see README "How to declare a route") are
 * applied:
 *
 *  - requests: `validatorCompiler` parses params, body, querystring and headers with the route's
 *    zod schema (transforms and defaults applied, so handlers see the parsed values). A failure is
 *    the ParError `invalidRequest` builds (400 PAR_ERR_REQUEST_INVALID naming the field), the
 *    same answer the handlers gave when they parsed input themselves. A missing or `null` body is
 *    parsed as `{}`, as before, so routes whose fields all have defaults accept an empty POST.
 *  - responses: `serializerCompiler` (fastify-type-provider-zod) encodes each reply with the
 *    schema of its status code and serialises the result: fields a response schema does not name
 *    are dropped (an extra guarantee that no store field leaks), a reply not matching its schema
 *    is a 500 PAR_ERR_INTERNAL (logged). Statuses without a schema are plain JSON.stringify.
 *  - `withErrors(responses)`: a route's success schemas plus the error envelope for 4xx/5xx,
 *    so the OpenAPI document shows every answer.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../contracts/task.js';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.js';
import { invalidRequest } from './http-errors.js';

/** The name an error message gives each part of a request (as the handlers' own parsing did). */
const WHERE: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const where = WHERE[httpPart ?? ''] ?? 'request';
  return (data: unknown) => {
    // Fastify hands a missing body over as null; the handlers used to read `request.body ?? {}`.
    const input = httpPart === 'body' && (data === null || data === undefined) ? {} : data;
    const result = schema.safeParse(input);
    return result.success ? { value: result.data } : { error: invalidRequest(result.error, where) };
  };
};

export const serializerCompiler = zodSerializerCompiler;

/**
 * The error envelope every failure answers with (`ParError.toBody()`): one `ErrorBody` component
 * of the OpenAPI document (registered by id), listing every registered code.
 */
export const errorResponseSchema = errorBodySchema
  .extend({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  })
  .meta({
    id: 'ErrorBody',
    description: 'Every error: a stable code (docs/errors.md), a message naming the field or resource, and whether retrying may help',
  });

/** A route's success response schemas plus the error envelope for every 4xx and 5xx. */
export function withErrors<R extends Record<number, z.ZodType>>(
  responses: R,
): R & { '4xx': typeof errorResponseSchema; '5xx': typeof errorResponseSchema } {
  return { ...responses, '4xx': errorResponseSchema, '5xx': errorResponseSchema };
}

/** The response schema of a 204 (no body). */
export const noContentSchema = z.undefined().describe('No content');
