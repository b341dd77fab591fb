/**
 * `POST /api/v1/runner/health` (runner JWT): the runner's periodic health check. Stored per runner
 * with the time it arrived; the runner list derives `ready` / `unhealthy` / `offline` from it.
 * A polling runner carries its check on the poll instead (routes/runner-tasks.ts); this endpoint
 * serves runners that are not polling (full, draining) and older runners.
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
        deps.metrics.healthChecks.inc({ via: 'endpoint' });
        deps.healthFlips.note(request.log, runner.runnerId, health);
        return { receivedAt };
      },
    );
  };
}
