/**
 * The runner API: long-poll dequeue, batch heartbeat, fenced result publication. Every call is
 * authenticated with the runner's request JWT.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  RUNNER_API, dequeueRequestSchema, heartbeatRequestSchema, publishRequestSchema,
  type DequeueResponse, type HeartbeatResponse, type PublishResponse,
} from '../../contracts/runner-api.js';
import { ParError } from '../../errors/par-error.js';
import type { AuthenticatedRunner } from '../auth/runner-auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { dequeueForRunner } from '../dispatch.js';
import { parseInput } from '../http-errors.js';
import { abortOnClientGone } from './client-gone.js';
import { heartbeatLeases } from '../store/leases.js';
import { recordResult } from '../store/results.js';

const idParamsSchema = z.object({ id: z.string().min(1) });

/** Results carry action output (script output is capped at 10 MB on the worker). */
const RESULT_BODY_LIMIT = 16 * 1024 * 1024;

export function runnerTaskRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  const authenticate = (request: FastifyRequest): Promise<AuthenticatedRunner> => deps.runnerAuth.authenticate(request.headers.authorization);

  return async (app) => {
    app.post(RUNNER_API.dequeue, async (request, reply): Promise<DequeueResponse> => {
      const runner = await authenticate(request);
      const { max, waitMs } = parseInput(dequeueRequestSchema, request.body ?? {}, 'body');
      const gone = abortOnClientGone(reply);
      try {
        const tasks = await dequeueForRunner(deps, runner.runnerId, max, waitMs, gone.signal);
        if (tasks.length > 0) {
          request.log.info({ runnerId: runner.runnerId, tasks: tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt })) }, 'tasks delivered');
        }
        return { tasks };
      } finally {
        gone.dispose();
      }
    });

    app.post(RUNNER_API.heartbeat, async (request): Promise<HeartbeatResponse> => {
      const runner = await authenticate(request);
      const { leases } = parseInput(heartbeatRequestSchema, request.body ?? {}, 'body');
      return { leases: await heartbeatLeases(deps.redis, deps.ks, runner.runnerId, leases, deps.now(), deps.config.leaseMs) };
    });

    app.post('/api/v1/runner/tasks/:id/result', { bodyLimit: RESULT_BODY_LIMIT }, async (request): Promise<PublishResponse> => {
      const runner = await authenticate(request);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const { leaseToken, outcome } = parseInput(publishRequestSchema, request.body ?? {}, 'body');
      const { status, submitToResultMs } = await recordResult(deps.redis, deps.ks, { taskId: id, runnerId: runner.runnerId, leaseToken, outcome, now: deps.now() });
      deps.metrics.resultReports.inc({ status });
      switch (status) {
        case 'recorded':
          deps.metrics.results.inc({ outcome: outcome.kind, code: outcome.error?.code ?? '' });
          if (submitToResultMs !== undefined) deps.metrics.submitToResult.observe(submitToResultMs / 1000);
          request.log.info({ taskId: id, kind: outcome.kind }, 'task result recorded');
          return { status: 'recorded' };
        case 'duplicate':
          return { status: 'duplicate' };
        case 'stale':
          throw new ParError('PAR_ERR_LEASE_STALE', `task ${id}`);
        case 'not_found':
          throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
      }
    });
  };
}
