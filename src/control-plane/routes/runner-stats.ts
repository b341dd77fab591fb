/**
 * `GET /api/v1/runners/:id/stats?window=1h`: the runner page's charts. Results per minute by
 * outcome and submit -> result p50/p99, from the per-minute aggregates the result and sweep
 * scripts keep (store/runner-stats.ts). Same access as reading the runner: `on_prem_runner_read`
 * and at least viewer on it (a runner the caller cannot view is 404).
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { TASKS_API } from '../../contracts/tasks-api.js';
import { requireCaller, requireRunnerAccess } from '../auth/access.js';
import type { ControlPlaneDeps } from '../deps.js';
import { parseInput } from '../http-errors.js';
import { SCOPES } from '../store/credentials.js';
import { STATS_WINDOWS, readRunnerStats, type RunnerStats, type StatsWindow } from '../store/runner-stats.js';

const idParamsSchema = z.object({ id: z.string().min(1) });
const windows = Object.keys(STATS_WINDOWS) as [StatsWindow, ...StatsWindow[]];
const statsQuerySchema = z.object({ window: z.enum(windows).default('1h') }).strict();

export function runnerStatsRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(`${TASKS_API.runners}/:id/stats`, async (request): Promise<RunnerStats & { runnerId: string }> => {
      const caller = await requireCaller(deps, request.headers, [SCOPES.runnerRead]);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const { window } = parseInput(statsQuerySchema, request.query ?? {}, 'query');
      const { runner } = await requireRunnerAccess(deps, caller, id, 'viewer');
      return { runnerId: runner.id, ...(await readRunnerStats(deps.redis, deps.ks, runner.id, window, deps.now())) };
    });
  };
}
