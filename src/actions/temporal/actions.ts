/**
 * The three `com.datadoghq.temporal` actions, as the vendor's registry names them, each a thin
 * use of @temporalio/client over the cached connection for the task's credential set:
 *
 *   runWorkflow        StartWorkflowExecution                        -> { runId }
 *   listWorkflows      ListWorkflowExecutions (pages, up to the cap)  -> { workflows: [...] }
 *   getWorkflowResult  GetWorkflowExecutionHistory, close-event long poll, following runs
 *                      continued as new                               -> { executionResult }
 *
 * Every call runs inside `connection.withAbortSignal(task signal)`, so a deadline or cancel
 * cancels the gRPC call (a result long poll included) and the action returns at once.
 */
import { randomUUID } from 'node:crypto';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { classifyTemporalError } from './classify.js';
import { settingsFromTask } from './connection-settings.js';
import { untilAborted, type TemporalConnectionCache, type TemporalHandle, type TemporalLease } from './connections.js';
import { goJsonExecutionInfo, type ReflectType } from './execution-info.js';
import { getWorkflowResultInputSchema, listWorkflowsInputSchema, runWorkflowInputSchema } from './inputs.js';

export const TEMPORAL_PREFIX = 'com.datadoghq.temporal';
export const TEMPORAL_RUN_WORKFLOW_FQN = `${TEMPORAL_PREFIX}.runWorkflow`;
export const TEMPORAL_LIST_WORKFLOWS_FQN = `${TEMPORAL_PREFIX}.listWorkflows`;
export const TEMPORAL_GET_WORKFLOW_RESULT_FQN = `${TEMPORAL_PREFIX}.getWorkflowResult`;

export interface TemporalActionDeps {
  readonly connections: TemporalConnectionCache;
  /** At most this many executions come back from one listWorkflows (the server's default page is 1000). */
  readonly maxListedWorkflows: number;
}

async function withClient<T>(
  deps: TemporalActionDeps,
  ctx: ActionContext,
  namespace: string,
  operation: string,
  fn: (client: InstanceType<TemporalHandle['module']['Client']>, handle: TemporalHandle) => Promise<T>,
): Promise<T> {
  const settings = settingsFromTask(ctx.credentials, ctx.connection);
  if (ctx.signal.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', `${operation}: aborted before connecting`);
  let lease: TemporalLease;
  try {
    lease = await deps.connections.acquire(settings, ctx.signal);
  } catch (error) {
    throw classifyTemporalError(error, { signal: ctx.signal, operation: 'connect' });
  }
  const { handle } = lease;
  const client = new handle.module.Client({ connection: handle.connection, namespace });
  try {
    return await untilAborted(
      handle.connection.withAbortSignal(ctx.signal, () => fn(client, handle)),
      ctx.signal,
    );
  } catch (error) {
    throw classifyTemporalError(error, { signal: ctx.signal, operation });
  } finally {
    lease.release();
  }
}

/** The vendor decodes the result into a Go string: a string stays one, other JSON values come back as their JSON text. */
export function resultText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function createTemporalActions(deps: TemporalActionDeps): RegisteredAction[] {
  return [
    defineAction({
      fqn: TEMPORAL_RUN_WORKFLOW_FQN,
      inputSchema: runWorkflowInputSchema,
      run: (inputs, ctx) =>
        withClient(deps, ctx, inputs.namespace, 'StartWorkflowExecution', async (client) => {
          const handle = await client.workflow.start(inputs.workflowType, {
            taskQueue: inputs.taskQueue,
            workflowId: inputs.workflowId || randomUUID(),
            args: inputs.workflowArgs,
          });
          if (!handle.firstExecutionRunId)
            throw new ParError('PAR_ERR_TEMPORAL_RPC_FAILED', 'StartWorkflowExecution: the server returned no run id');
          return { runId: handle.firstExecutionRunId };
        }),
    }),
    defineAction({
      fqn: TEMPORAL_LIST_WORKFLOWS_FQN,
      inputSchema: listWorkflowsInputSchema,
      run: (inputs, ctx) =>
        withClient(deps, ctx, inputs.namespace, 'ListWorkflowExecutions', async (client) => {
          const loaded = await import('@temporalio/proto');
          // A CommonJS module: its exports arrive as `default` under ESM.
          const proto = (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
          const type = proto.temporal.api.workflow.v1.WorkflowExecutionInfo as unknown as ReflectType;
          const workflows: Record<string, unknown>[] = [];
          for await (const info of client.workflow.list({ query: inputs.query })) {
            workflows.push(goJsonExecutionInfo(type, info.raw));
            if (workflows.length >= deps.maxListedWorkflows) break;
          }
          return { workflows };
        }),
    }),
    defineAction({
      fqn: TEMPORAL_GET_WORKFLOW_RESULT_FQN,
      inputSchema: getWorkflowResultInputSchema,
      run: (inputs, ctx) =>
        withClient(deps, ctx, inputs.namespace, 'GetWorkflowExecutionHistory', async (client) => {
          const value: unknown = await client.workflow.result(inputs.workflowId, inputs.runId || undefined, { followRuns: true });
          return { executionResult: resultText(value) };
        }),
    }),
  ];
}
