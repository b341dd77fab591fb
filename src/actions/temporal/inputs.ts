/**
 * Input schemas of the `com.datadoghq.temporal` actions, with the vendor's field names
 * (`run_workflow.go`, `list_workflows.go`, `get_workflow_result.go`). `namespace` defaults to
 * `default` as there. Where the vendor leaves a field optional but the server refuses it empty
 * (`workflowType`, `taskQueue`; `workflowId` for a result), it is required here, so the mistake
 * is reported before anything is sent.
 */
import { z } from 'zod';

/** Temporal's own limit on identifiers (namespace, workflow id, type, task queue) is 1000 bytes by default. */
const MAX_ID_CHARS = 1000;
/** A visibility query longer than this is a mistake. */
const MAX_QUERY_CHARS = 10_000;

const id = z.string().min(1).max(MAX_ID_CHARS);
const namespace = z
  .string()
  .max(MAX_ID_CHARS)
  .optional()
  .transform((ns) => (ns === undefined || ns === '' ? 'default' : ns));

export const runWorkflowInputSchema = z.object({
  workflowType: id,
  /** Each value becomes one json/plain payload, as the SDKs' default data converter writes them. */
  workflowArgs: z.array(z.unknown()).default([]),
  /** Absent or empty: a random UUID, as the vendor does. */
  workflowId: z.string().max(MAX_ID_CHARS).optional(),
  taskQueue: id,
  namespace,
});

export const listWorkflowsInputSchema = z.object({
  /** A visibility query (`WorkflowType = 'x' AND ExecutionStatus = 'Running'`); empty lists all. */
  query: z.string().max(MAX_QUERY_CHARS).default(''),
  namespace,
});

export const getWorkflowResultInputSchema = z.object({
  workflowId: id,
  /** Absent or empty: the workflow's current run. Runs it continues as are followed. */
  runId: z.string().max(MAX_ID_CHARS).optional(),
  namespace,
});
