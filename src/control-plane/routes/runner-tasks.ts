/**
 * The runner API: long-poll dequeue (which may carry the runner's health check), batch heartbeat,
 * fenced result publication (one result, or a batch of them in one request and one Lua call).
 * Every call is authenticated with the runner's request JWT.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  RUNNER_API,
  dequeueRequestSchema,
  dequeueResponseSchema,
  heartbeatRequestSchema,
  heartbeatResponseSchema,
  publishBatchRequestSchema,
  publishBatchResponseSchema,
  publishRequestSchema,
  publishResponseSchema,
  type PublishBatchResponse,
} from '../../contracts/runner-api.js';
import { isWellFormedId } from '../../contracts/ids.js';
import type { TaskOutcome } from '../../contracts/task.js';
import { ParError } from '../../errors/par-error.js';
import { runnerGuard } from '../auth/guards.js';
import { guard } from '../route-guard.js';
import { healthRecord } from '../store/runner-health.js';
import type { ControlPlaneDeps } from '../deps.js';
import { dequeueForRunner } from '../dispatch.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { idParamsSchema } from './params.js';
import { abortOnClientGone } from './client-gone.js';
import { heartbeatLeases } from '../store/leases.js';
import { recordResult, recordResults, type RecordResultAnswer } from '../store/results.js';

function carriesHealth(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'health' in body && (body as { health?: unknown }).health !== undefined;
}

/** Results carry action output (script output is capped at 10 MB on the worker). */
const RESULT_BODY_LIMIT = 16 * 1024 * 1024;

/** The metrics of one result publication, counted alike for the single and the batch route. */
function countReport(deps: ControlPlaneDeps, outcome: TaskOutcome, answer: RecordResultAnswer): void {
  deps.metrics.resultReports.inc({ status: answer.status });
  if (answer.status !== 'recorded') return;
  deps.metrics.results.inc({ outcome: outcome.kind, code: outcome.error?.code ?? '' });
  if (answer.submitToResultMs !== undefined) deps.metrics.submitToResult.observe(answer.submitToResultMs / 1000);
}

export function runnerTaskRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const runnerOnly = runnerGuard(deps);
  // A poll carrying a health check writes lastSeenAt with it (same Lua step): no separate touch.
  const pollGuard = guard((request) =>
    deps.runnerAuth.authenticate(request.headers.authorization, { touch: !carriesHealth(request.body) }),
  );
  const tags = ['runner'];

  return async (app) => {
    app.post(
      RUNNER_API.dequeue,
      {
        schema: {
          tags,
          summary: 'Long-poll for ready tasks (leases them)',
          security: SECURITY.runner,
          body: dequeueRequestSchema,
          response: withErrors({ 200: dequeueResponseSchema }),
        },
        preValidation: pollGuard.preValidation,
      },
      async (request, reply) => {
        const runner = pollGuard.of(request);
        const { max, waitMs, health: report } = request.body;
        const health = report ? healthRecord(report, deps.now()) : undefined;
        const gone = abortOnClientGone(reply);
        // Another call from this runner on the same connection ends the wait (parked-polls.ts).
        const parked = deps.parkedPolls.park(request.raw.socket, request.raw, () => gone.abort());
        if (parked.yielded) deps.metrics.pollYields.inc();
        try {
          const { tasks, cancelled } = await dequeueForRunner(deps, runner.runnerId, max, waitMs, gone.signal, health);
          if (health) {
            deps.metrics.healthChecks.inc({ via: 'poll' });
            deps.runnerAuth.seen(runner.runnerId, health.receivedAt);
            deps.healthFlips.note(request.log, runner.runnerId, health);
          }
          if (tasks.length > 0) {
            request.log.info(
              { runnerId: runner.runnerId, tasks: tasks.map((t) => ({ taskId: t.taskId, attempt: t.attempt })) },
              'tasks delivered',
            );
          }
          if (cancelled.length > 0) request.log.info({ runnerId: runner.runnerId, cancelled }, 'cancels handed to the runner');
          return cancelled.length > 0 ? { tasks, cancelled } : { tasks };
        } finally {
          deps.metrics.polls.inc();
          parked.dispose();
          gone.dispose();
        }
      },
    );

    app.post(
      RUNNER_API.heartbeat,
      {
        schema: {
          tags,
          summary: 'Extend the leases of running tasks',
          security: SECURITY.runner,
          body: heartbeatRequestSchema,
          response: withErrors({ 200: heartbeatResponseSchema }),
        },
        preValidation: runnerOnly.preValidation,
      },
      async (request) => {
        const runner = runnerOnly.of(request);
        const { leases } = request.body;
        return heartbeatLeases(deps.redis, deps.ks, runner.runnerId, leases, deps.now(), deps.config.leaseMs);
      },
    );

    app.post(
      '/api/v1/runner/tasks/:id/result',
      {
        bodyLimit: RESULT_BODY_LIMIT,
        schema: {
          tags,
          summary: "Publish a task's final result (fenced by the lease token)",
          security: SECURITY.runner,
          params: idParamsSchema,
          body: publishRequestSchema,
          response: withErrors({ 200: publishResponseSchema }),
        },
        preValidation: runnerOnly.preValidation,
      },
      async (request) => {
        const runner = runnerOnly.of(request);
        const {
          params: { id },
          body: { leaseToken, outcome },
        } = request;
        const answer = await recordResult(deps.redis, deps.ks, {
          taskId: id,
          runnerId: runner.runnerId,
          leaseToken,
          outcome,
          now: deps.now(),
        });
        countReport(deps, outcome, answer);
        switch (answer.status) {
          case 'recorded':
            if (answer.final) deps.wakeups.wakeTask(id, answer.final);
            request.log.info({ taskId: id, kind: outcome.kind }, 'task result recorded');
            return { status: 'recorded' as const };
          case 'duplicate':
            return { status: 'duplicate' as const };
          case 'stale':
            throw new ParError('PAR_ERR_LEASE_STALE', `task ${id}`);
          case 'not_found':
            throw new ParError('PAR_ERR_NOT_FOUND', `task ${id}`);
        }
      },
    );

    app.post(
      RUNNER_API.results,
      {
        bodyLimit: RESULT_BODY_LIMIT,
        schema: {
          tags,
          summary: 'Publish many final results at once (each fenced by its lease token; one answer per item)',
          security: SECURITY.runner,
          body: publishBatchRequestSchema,
          response: withErrors({ 200: publishBatchResponseSchema }),
        },
        preValidation: runnerOnly.preValidation,
      },
      async (request) => {
        const runner = runnerOnly.of(request);
        const items = request.body.results;
        deps.metrics.resultBatchSize.observe(items.length);
        // A malformed id names no task (the single route answers 404 before Redis): never sent to Lua.
        const wellFormed = items.filter((item) => isWellFormedId(item.taskId));
        const answers = await recordResults(deps.redis, deps.ks, { runnerId: runner.runnerId, items: wellFormed, now: deps.now() });
        const byItem = new Map(wellFormed.map((item, i) => [item, answers[i]]));
        const recorded: { taskId: string; kind: string }[] = [];
        const results = items.map((item): PublishBatchResponse['results'][number] => {
          const answer: RecordResultAnswer = byItem.get(item) ?? { status: 'not_found' };
          countReport(deps, item.outcome, answer);
          switch (answer.status) {
            case 'recorded':
              if (answer.final) deps.wakeups.wakeTask(item.taskId, answer.final);
              recorded.push({ taskId: item.taskId, kind: item.outcome.kind });
              return { taskId: item.taskId, status: 'recorded' };
            case 'duplicate':
              return { taskId: item.taskId, status: 'duplicate' };
            case 'stale':
              return { taskId: item.taskId, status: 'stale', code: 'PAR_ERR_LEASE_STALE' };
            case 'not_found':
              return { taskId: item.taskId, status: 'not_found', code: 'PAR_ERR_NOT_FOUND' };
          }
        });
        if (recorded.length > 0) request.log.info({ runnerId: runner.runnerId, recorded }, 'task results recorded');
        return { results };
      },
    );
  };
}
