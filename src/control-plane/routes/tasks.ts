/**
 * The user-facing task API: submit a task for a runner, read it back, optionally waiting (pub/sub,
 * not polling) until it has its final result. App key with `actions_run`.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { TASKS_API, submitTaskRequestSchema, type TaskEvent, type TaskView } from '../../contracts/tasks-api.js';
import { ParError } from '../../errors/par-error.js';
import { requireAppKey } from '../auth/keys.js';
import type { ControlPlaneDeps } from '../deps.js';
import { parseInput } from '../http-errors.js';
import { abortOnClientGone } from './client-gone.js';
import { SCOPES } from '../store/credentials.js';
import { getTask, isFinal, toTaskView, type TaskRecord } from '../store/tasks.js';
import { getTaskEvents } from '../store/task-events.js';
import { submitTask } from '../task-submission.js';

export const MAX_TASK_WAIT_MS = 60_000;

const idParamsSchema = z.object({ id: z.string().min(1) });
const getQuerySchema = z.object({ wait: z.coerce.number().int().min(0).max(MAX_TASK_WAIT_MS).default(0) });

export function taskRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.post(TASKS_API.submit, async (request, reply) => {
      const caller = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.actionsRun);
      const body = parseInput(submitTaskRequestSchema, request.body ?? {}, 'body');
      const task = await submitTask(deps, caller.orgId, body);
      request.log.info({ taskId: task.id, runnerId: task.runnerId, action: task.action }, 'task submitted');
      const view: TaskView = toTaskView(task);
      return reply.status(201).send(view);
    });

    app.get(`${TASKS_API.submit}/:id/events`, async (request): Promise<{ events: TaskEvent[] }> => {
      const caller = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.actionsRun);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const task = await getTask(deps.redis, deps.ks, id);
      if (!task || task.orgId !== caller.orgId) throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
      return { events: await getTaskEvents(deps.redis, deps.ks, id) };
    });

    app.get(`${TASKS_API.submit}/:id`, async (request, reply): Promise<TaskView> => {
      const caller = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.actionsRun);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const { wait } = parseInput(getQuerySchema, request.query, 'query');
      const load = async (): Promise<TaskRecord> => {
        const task = await getTask(deps.redis, deps.ks, id);
        if (!task || task.orgId !== caller.orgId) throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
        return task;
      };
      if (wait === 0) return toTaskView(await load());

      const deadline = deps.now() + wait;
      const armed = deps.wakeups.arm('task', id); // before the first read: no completion is missed
      const gone = abortOnClientGone(reply);
      try {
        let task = await load();
        while (!isFinal(task.state)) {
          const remaining = deadline - deps.now();
          if (remaining <= 0 || gone.signal.aborted || deps.wakeups.isClosed) break;
          const woken = await armed.wait(remaining, gone.signal);
          task = await load();
          if (!woken) break;
        }
        return toTaskView(task);
      } finally {
        armed.cancel();
        gone.dispose();
      }
    });
  };
}
