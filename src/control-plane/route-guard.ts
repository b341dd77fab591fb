/**
 * The checks a route makes BEFORE its input is validated: authentication, and the authorisation
 * that must answer first (an unauthenticated or forbidden caller gets its 401/403/404, never a
 * 400 describing the body it may not send). A guard runs as the route's `preValidation` hook
 * (after the app-wide input limits, before Fastify validates params/body/query against the
 * route's schema); the handler reads what it found with `of(request)`.
 *
 *   const writer = guard((request) => requireCaller(deps, request.headers, SCOPES.runnerWrite));
 *   app.post(url, { schema, preValidation: writer.preValidation }, async (request) => {
 *     const caller = writer.of(request);
 *     ...
 *   });
 */
import type { FastifyRequest } from 'fastify';
import { ParError } from '../errors/par-error.js';

/** What a guard reads from the request: headers always, params and body as received (not yet validated). */
export type GuardedRequest = Pick<FastifyRequest, 'headers' | 'log'> & { params: unknown; body: unknown };

export interface Guard<T> {
  /** The route's preValidation hook. */
  readonly preValidation: (request: GuardedRequest) => Promise<void>;
  /** What the guard found for this request (a handler of a route without the hook: PAR_ERR_INTERNAL). */
  readonly of: (request: object) => T;
}

export function guard<T>(check: (request: GuardedRequest) => Promise<T> | T): Guard<T> {
  const found = new WeakMap<object, { value: T }>();
  return {
    preValidation: async (request) => {
      found.set(request, { value: await check(request) });
    },
    of: (request) => {
      const entry = found.get(request);
      if (!entry) throw new ParError('PAR_ERR_INTERNAL', 'route guard did not run (preValidation hook missing)');
      return entry.value;
    },
  };
}
