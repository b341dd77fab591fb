/**
 * `GET /metrics`: Prometheus text of this process's registry (control-plane/metrics.ts). No key:
 * it carries counts and timings only (no ids, names or inputs), like `/healthz`; keep the port
 * behind your network rules if even that is too much.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ControlPlaneDeps } from '../deps.js';

/** Left out of /api/openapi.json: Prometheus text exposition, not a JSON API (METRICS_ROUTE is in the test's exclusions). */
export const METRICS_ROUTE = 'GET /metrics';

export function metricsRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const registry = deps.metrics.registry;
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
}
