/**
 * `GET /api/v1/runners/:id/stats?window=1h`: the runner page's charts. Results per minute by
 * outcome and submit -> result p50/p99, from the per-minute aggregates the result and sweep
 * scripts keep (store/runner-stats.ts). Same access as reading the runner: `on_prem_runner_read`
 * and at least viewer on it (a runner the caller cannot view is 404).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TASKS_API } from '../../contracts/tasks-api.js';
import { requireRunnerAccess } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { SCOPES } from '../store/credentials.js';
import { STATS_OUTCOMES, STATS_WINDOWS, readRunnerStats, type StatsWindow } from '../store/runner-stats.js';
import { idParamsSchema } from './params.js';

const windows = Object.keys(STATS_WINDOWS) as [StatsWindow, ...StatsWindow[]];
const statsQuerySchema = z.object({ window: z.enum(windows).default('1h') }).strict();
const countsSchema = z.object(
  Object.fromEntries(STATS_OUTCOMES.map((o) => [o, z.number().int()])) as Record<(typeof STATS_OUTCOMES)[number], z.ZodNumber>,
);
const pointFields = { counts: countsSchema, total: z.number().int(), p50Ms: z.number().nullable(), p99Ms: z.number().nullable() };
const runnerStatsSchema = z.object({
  runnerId: z.string(),
  window: z.enum(windows),
  bucketMs: z.number().int(),
  from: z.number(),
  to: z.number(),
  outcomes: z.array(z.enum(STATS_OUTCOMES)).readonly(),
  points: z.array(z.object({ at: z.number(), ...pointFields })),
  totals: z.object(pointFields),
});

export function runnerStatsRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const reader = callerGuard(deps, [SCOPES.runnerRead]);
  return async (app) => {
    app.get(
      `${TASKS_API.runners}/:id/stats`,
      {
        schema: {
          tags: ['runners'],
          summary: "A runner's results per minute by outcome and submit -> result p50/p99",
          security: SECURITY.appKey,
          params: idParamsSchema,
          querystring: statsQuerySchema,
          response: withErrors({ 200: runnerStatsSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const {
          params: { id },
          query: { window },
        } = request;
        const { runner } = await requireRunnerAccess(deps, caller, id, 'viewer');
        return { runnerId: runner.id, ...(await readRunnerStats(deps.redis, deps.ks, runner.id, window, deps.now())) };
      },
    );
  };
}
