/**
 * Limits on everything a request hands the control plane, checked before any route schema
 * validates the input (a `preValidation` hook, ahead of every route's own guard) so
 * hostile input is a 4xx and never a stack overflow or a Redis type error answered 500:
 *
 *  - body size: Fastify's `bodyLimit` (1 MiB; a route may set its own, e.g. results);
 *  - nesting: a parsed JSON body nested deeper than MAX_JSON_DEPTH is refused (400
 *    PAR_ERR_REQUEST_INVALID naming where), before it can reach signing (JSON.stringify
 *    recurses), storing or the secret guard. The walk is iterative, so any depth is safe to check;
 *  - URL parameters: every `:param` of an API route (`/api/...`) must be a well-formed id
 *    (contracts/ids.ts), else 404 PAR_ERR_NOT_FOUND: a malformed id names nothing, and never
 *    reaches Redis. (The web page's routes serve one static shell whatever the URL says.)
 */
import type { FastifyInstance } from 'fastify';
import { isWellFormedId } from '../contracts/ids.js';
import { ParError } from '../errors/par-error.js';

export const MAX_JSON_DEPTH = 64;
/** Default body limit of every route (bytes). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * The path of the first value nested deeper than `maxDepth` (the top-level value is depth 0, a
 * member of it depth 1...), or undefined. Iterative: a 100,000-deep value costs no stack.
 */
export function findTooDeep(value: unknown, maxDepth: number = MAX_JSON_DEPTH): string | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= maxDepth) return item.path || '(root)';
    const entries: [string, unknown][] = Array.isArray(item.value) ? item.value.map((v, i) => [String(i), v]) : Object.entries(item.value);
    for (const [key, child] of entries) {
      if (child !== null && typeof child === 'object')
        stack.push({ value: child, depth: item.depth + 1, path: item.path ? `${item.path}.${key}` : key });
    }
  }
  return undefined;
}

/** Refuses a body nested deeper than the limit (400, naming a path shortened to its start). */
export function refuseTooDeep(body: unknown, where = 'body'): void {
  const path = findTooDeep(body);
  if (path === undefined) return;
  const shown = path.length > 80 ? `${path.slice(0, 80)}…` : path;
  throw new ParError('PAR_ERR_REQUEST_INVALID', `${where}: nested deeper than ${MAX_JSON_DEPTH} levels at ${shown}`);
}

export function installInputLimits(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const params = request.params as Record<string, unknown> | undefined;
    if (params && typeof params === 'object' && (request.routeOptions.url ?? '').startsWith('/api/')) {
      for (const [name, value] of Object.entries(params)) {
        if (!isWellFormedId(value)) throw new ParError('PAR_ERR_NOT_FOUND', `${name}: not a well-formed id`);
      }
    }
    if (request.body !== undefined) refuseTooDeep(request.body);
  });
}
