/**
 * `POST /api/v1/tasks/:id/cancel` (app key with `actions_run`; contributor on the task's runner,
 * like submitting). A queued task is cancelled at once and never delivered; a delivered one is
 * recorded `cancelled` at once too, and its runner stops the run on its next heartbeat
 * (store/task-cancel.ts). Cancelling a cancelled task answers the same (idempotent); a task with
 * another final result is 409 PAR_ERR_TASK_FINISHED and unchanged; an unknown id, or a task on a
 * runner the caller cannot view, is 404.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TASKS_API, taskViewSchema } from '../../contracts/tasks-api.js';
import { ParError } from '../../errors/par-error.js';
import { requireRunnerAccess } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { SCOPES } from '../store/credentials.js';
import { cancelTask } from '../store/task-cancel.js';
import { getTask, toTaskView } from '../store/tasks.js';
import { idParamsSchema } from './params.js';

/** No fields today; unknown ones are refused rather than ignored. */
const cancelBodySchema = z.object({}).strict();

export function taskCancelRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const canceller = callerGuard(deps, SCOPES.actionsRun);
  return async (app) => {
    app.post(
      `${TASKS_API.submit}/:id/cancel`,
      {
        schema: {
          tags: ['tasks'],
          summary: 'Cancel a task (queued: never runs; running: its runner stops it)',
          security: SECURITY.appKey,
          params: idParamsSchema,
          body: cancelBodySchema,
          response: withErrors({ 200: taskViewSchema }),
        },
        preValidation: canceller.preValidation,
      },
      async (request) => {
        const caller = canceller.of(request);
        const { id } = request.params;
        const task = await getTask(deps.redis, deps.ks, id);
        if (!task || task.orgId !== caller.orgId) throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
        try {
          // Stopping a run is as much contributor work as starting one; viewers get 403.
          await requireRunnerAccess(deps, caller, task.runnerId, 'contributor');
        } catch (error) {
          if (error instanceof ParError && error.code === 'PAR_ERR_NOT_FOUND') throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
          throw error;
        }
        const by = `${caller.principal.type}:${caller.principal.id}`;
        const result = await cancelTask(deps.redis, deps.ks, { taskId: id, runnerId: task.runnerId, now: deps.now(), by });
        switch (result.status) {
          case 'not_found':
            throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
          case 'finished':
            throw new ParError('PAR_ERR_TASK_FINISHED', `task ${id} already ${result.state}`);
          case 'cancelled':
            deps.metrics.results.inc({ outcome: 'cancelled', code: 'PAR_ERR_TASK_CANCELLED' });
            request.log.info({ taskId: id, runnerId: task.runnerId, was: result.was, by }, 'task cancelled');
            break;
          case 'already_cancelled':
            break;
        }
        const after = await getTask(deps.redis, deps.ks, id);
        if (!after) throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
        return toTaskView(after);
      },
    );
  };
}
