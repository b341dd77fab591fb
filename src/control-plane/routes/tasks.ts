/**
 * The user-facing task API: submit a task for a runner (`actions_run`, contributor on the runner;
 * a connection must be on that runner), list a runner's recent tasks and read one back. Reading
 * (viewer on the runner) and submitting can both wait (`?wait=`, pub/sub, not polling; task-wait.ts)
 * until the task has its final result, so a client gets a result in one request.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { TASKS_API, submitTaskRequestSchema, taskEventsResponseSchema, taskViewSchema, type TaskView } from '../../contracts/tasks-api.js';
import { ParError } from '../../errors/par-error.js';
import { ADMIN_API, listTasksQuerySchema, tasksResponseSchema } from '../../contracts/admin-api.js';
import { isOrgAdmin, requireRunnerAccess, type Caller } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import { getConnection, toConnectionRef } from '../store/connections.js';
import type { ConnectionRef } from '../../contracts/task.js';
import { effectiveAccess } from '../store/grants.js';
import { getRunner, listRunners } from '../store/runners.js';
import { listRunnerTasks } from '../store/task-index.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { idParamsSchema } from './params.js';
import { abortOnClientGone } from './client-gone.js';
import { SCOPES, type Scope } from '../store/credentials.js';
import { getTask, isFinal, toTaskView, type TaskRecord } from '../store/tasks.js';
import { getTaskEvents } from '../store/task-events.js';
import { submitTask } from '../task-submission.js';
import { waitUntilFinal } from '../task-wait.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, idempotencyKeySchema } from '../../contracts/idempotency.js';

/** The Idempotency-Key header, when sent: once, and well formed (400 PAR_ERR_IDEMPOTENCY_KEY_INVALID otherwise). */
function readIdempotencyKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new ParError('PAR_ERR_IDEMPOTENCY_KEY_INVALID', 'the header was given more than once');
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) throw new ParError('PAR_ERR_IDEMPOTENCY_KEY_INVALID', parsed.error.issues[0]?.message ?? 'malformed');
  return parsed.data;
}

export const MAX_TASK_WAIT_MS = 60_000;

const waitQuerySchema = z.object({
  wait: z.coerce.number().int().min(0).max(MAX_TASK_WAIT_MS).default(0).describe('wait up to this many ms for the final result'),
});
/**
 * Documents the header; its rules are checked by readIdempotencyKey after the body and the
 * caller's access (PAR_ERR_IDEMPOTENCY_KEY_INVALID), so the schema accepts any value. Loose: the
 * other headers (keys) stay on the request.
 */
const submitHeadersSchema = z.looseObject({
  [IDEMPOTENCY_KEY_HEADER]: z
    .unknown()
    .optional()
    .describe(
      'optional; a retried submission with the same key returns the task the first one created (1-255 of A-Z a-z 0-9 . _ ~ : + / = -)',
    ),
});

/** Reading tasks: the historical `actions_run`, or the runner read scope. */
const READ_SCOPES: readonly Scope[] = [SCOPES.actionsRun, SCOPES.runnerRead];

export function taskRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const submitter = callerGuard(deps, SCOPES.actionsRun);
  const reader = callerGuard(deps, READ_SCOPES);
  const tags = ['tasks'];

  /** The task when the caller may view its runner (org admins also see tasks of deleted runners). */
  const loadVisibleTask = async (caller: Caller, id: string): Promise<TaskRecord> => {
    const task = await getTask(deps.redis, deps.ks, id);
    if (!task || task.orgId !== caller.orgId) throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
    try {
      await requireRunnerAccess(deps, caller, task.runnerId, 'viewer');
    } catch (error) {
      if (!(error instanceof ParError && error.code === 'PAR_ERR_NOT_FOUND')) throw error;
      if (!(isOrgAdmin(caller) && !(await getRunner(deps.redis, deps.ks, task.runnerId))))
        throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
    }
    return task;
  };

  /** Re-reads a task the caller was already allowed to see (only its state is followed). */
  const loadOwnTask = async (caller: Caller, id: string): Promise<TaskRecord> => {
    const task = await getTask(deps.redis, deps.ks, id);
    if (!task || task.orgId !== caller.orgId) throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
    return task;
  };

  return async (app) => {
    app.post(
      TASKS_API.submit,
      {
        schema: {
          tags,
          summary:
            'Submit a task for a runner, optionally waiting for its final result (201; 200 when an Idempotency-Key replays an earlier one)',
          description:
            'With `wait` (ms, at most 60000, as GET /api/v1/tasks/{id}?wait=) the answer comes once the task is final, or when the wait ends with the task as it is then (still `queued` or `leased`). The status does not depend on the wait: 201 for a new task, 200 for a replay (a replay of a finished task answers its final view at once).',
          security: SECURITY.appKey,
          headers: submitHeadersSchema,
          querystring: waitQuerySchema,
          body: submitTaskRequestSchema,
          response: withErrors({ 200: taskViewSchema, 201: taskViewSchema }),
        },
        preValidation: submitter.preValidation,
      },
      async (request, reply) => {
        const caller = submitter.of(request);
        const {
          body,
          query: { wait },
        } = request;
        // Running an action on a runner, through one of its connections or not, is contributor work.
        const { runner } = await requireRunnerAccess(deps, caller, body.runner, 'contributor');
        let connection: ConnectionRef | undefined;
        if (body.connectionId !== undefined) {
          const record = await getConnection(deps.redis, deps.ks, caller.orgId, body.connectionId);
          if (!record) throw new ParError('PAR_ERR_NOT_FOUND', `connection ${body.connectionId}`);
          if (record.runnerId !== runner.id)
            throw new ParError('PAR_ERR_CONNECTION_RUNNER_MISMATCH', `connection ${record.name} is on another runner than ${runner.name}`);
          connection = toConnectionRef(record);
        }
        const idempotencyKey = readIdempotencyKey(request.headers);
        // Waiting: the id is chosen and its waiter armed before the task is stored, so a result
        // recorded at once (between the store and the wait) still wakes it.
        const taskId = randomUUID();
        let armed = wait > 0 ? deps.wakeups.arm('task', taskId) : undefined;
        const gone = wait > 0 ? abortOnClientGone(reply) : undefined;
        let task: TaskRecord;
        let replayed: boolean;
        try {
          const deadline = deps.now() + wait;
          ({ task, replayed } = await submitTask(deps, caller.orgId, runner, body, {
            connection,
            connectionId: body.connectionId,
            submittedBy: `${caller.principal.type}:${caller.principal.id}`,
            idempotency:
              idempotencyKey === undefined ? undefined : { key: idempotencyKey, scope: { orgId: caller.orgId, owner: caller.key.owner } },
            taskId,
          }));
          request.log.info(
            { taskId: task.id, runnerId: task.runnerId, action: task.action, replayed },
            replayed ? 'task submission replayed' : 'task submitted',
          );
          if (armed && gone && !isFinal(task.state)) {
            if (replayed) {
              // The earlier task: armed on its id, then read again (it may have finished meanwhile).
              armed.cancel();
              armed = deps.wakeups.arm('task', task.id);
              task = await loadOwnTask(caller, task.id);
            }
            const id = task.id;
            task = await waitUntilFinal(deps, armed, task, () => loadOwnTask(caller, id), deadline, gone.signal);
          }
        } finally {
          armed?.cancel();
          gone?.dispose();
        }
        if (idempotencyKey !== undefined) void reply.header(IDEMPOTENT_REPLAYED_HEADER, String(replayed));
        const view: TaskView = toTaskView(task);
        return reply.status(replayed ? 200 : 201).send(view);
      },
    );

    app.get(
      ADMIN_API.tasks,
      {
        schema: {
          tags,
          summary: 'Recent tasks of the runners the caller may view, newest first',
          security: SECURITY.appKey,
          querystring: listTasksQuerySchema,
          response: withErrors({ 200: tasksResponseSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const { query } = request;
        let runnerIds: string[];
        if (query.runnerId !== undefined) {
          runnerIds = [(await requireRunnerAccess(deps, caller, query.runnerId, 'viewer')).runner.id];
        } else {
          const runners = await listRunners(deps.redis, deps.ks, caller.orgId);
          const access = await Promise.all(runners.map((r) => effectiveAccess(deps.redis, deps.ks, caller.principal, r.id)));
          runnerIds = runners.filter((_r, i) => access[i] !== undefined).map((r) => r.id);
        }
        const tasks = await listRunnerTasks(deps.redis, deps.ks, runnerIds, query.limit);
        return { tasks: tasks.map(toTaskView) };
      },
    );

    app.get(
      `${TASKS_API.submit}/:id/events`,
      {
        schema: {
          tags,
          summary: "A task's history",
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 200: taskEventsResponseSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const { id } = request.params;
        await loadVisibleTask(caller, id);
        return { events: await getTaskEvents(deps.redis, deps.ks, id) };
      },
    );

    app.get(
      `${TASKS_API.submit}/:id`,
      {
        schema: {
          tags,
          summary: 'Read a task, optionally waiting for its final result',
          security: SECURITY.appKey,
          params: idParamsSchema,
          querystring: waitQuerySchema,
          response: withErrors({ 200: taskViewSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request, reply) => {
        const caller = reader.of(request);
        const {
          params: { id },
          query: { wait },
        } = request;
        await loadVisibleTask(caller, id); // access once; re-reads below only follow the state
        const load = (): Promise<TaskRecord> => loadOwnTask(caller, id);
        if (wait === 0) return toTaskView(await load());

        const deadline = deps.now() + wait;
        const armed = deps.wakeups.arm('task', id); // before the first read: no completion is missed
        const gone = abortOnClientGone(reply);
        try {
          return toTaskView(await waitUntilFinal(deps, armed, await load(), load, deadline, gone.signal));
        } finally {
          armed.cancel();
          gone.dispose();
        }
      },
    );
  };
}
