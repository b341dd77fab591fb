/**
 * `GET /metrics`: Prometheus text of this process's registry (control-plane/metrics.ts). No key:
 * it carries counts and timings only (no ids, names or inputs), like `/healthz`; keep the port
 * behind your network rules if even that is too much.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ControlPlaneDeps } from '../deps.js';

export function metricsRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_request, reply) => {
      const registry = deps.metrics.registry;
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  };
}
