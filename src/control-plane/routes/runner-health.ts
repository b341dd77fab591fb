/**
 * `POST /api/v1/runner/health` (runner JWT): the runner's periodic health check. Stored per runner
 * with the time it arrived; the runner list derives `ready` / `unhealthy` / `offline` from it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RUNNER_API, healthReportSchema, healthResponseSchema } from '../../contracts/runner-api.js';
import { runnerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { recordHealth, type StatusSettings } from '../store/runner-health.js';

/** What `withStatus` (store/runner-health.ts) needs to add `status` and `health` to runner views, now. */
export function statusSettings(deps: ControlPlaneDeps): StatusSettings {
  return { redis: deps.redis, ks: deps.ks, now: deps.now(), offlineAfterMs: deps.config.runnerOfflineAfterMs };
}

export function runnerHealthRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  // Checks arrive every few seconds: log only when a runner's health flips, not every check.
  const lastHealthy = new Map<string, boolean>();
  // The health record writes lastSeenAt in the same Lua step: no separate touch for this call.
  const runnerOnly = runnerGuard(deps, { touch: false });
  return async (app) => {
    app.post(
      RUNNER_API.health,
      {
        schema: {
          tags: ['runner'],
          summary: "The runner's periodic health check",
          security: SECURITY.runner,
          body: healthReportSchema,
          response: withErrors({ 200: healthResponseSchema }),
        },
        preValidation: runnerOnly.preValidation,
      },
      async (request) => {
        const runner = runnerOnly.of(request);
        const report = request.body;
        const receivedAt = deps.now();
        const health = await recordHealth(deps.redis, deps.ks, runner.runnerId, report, receivedAt);
        deps.runnerAuth.seen(runner.runnerId, receivedAt);
        if (lastHealthy.get(runner.runnerId) !== health.healthy) {
          lastHealthy.set(runner.runnerId, health.healthy);
          if (health.healthy) request.log.info({ runnerId: runner.runnerId, version: health.version }, 'runner reports healthy');
          else request.log.warn({ runnerId: runner.runnerId, problems: health.problems }, 'runner reports it is unhealthy');
        }
        return { receivedAt };
      },
    );
  };
}
