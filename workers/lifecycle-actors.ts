/**
 * The real actors of the task lifecycle machine, built per task (they close over the task's
 * logger): validation with the action's zod schema, credentials from the config dir, execution
 * through the action registry with the machine's AbortSignal.
 */
import type { Context } from '@opentelemetry/api';
import { fromPromise } from 'xstate';
import type { z } from 'zod';
import type {
  ExecuteActionInput,
  ExecuteActionOutput,
  ResolveCredentialsInput,
  ResolveCredentialsOutput,
  ValidateTaskInput,
  ValidateTaskOutput,
} from '../machines/task-lifecycle/task-lifecycle.actors.js';
import type { ActionLimits, RegisteredAction } from '../src/actions/action.js';
import type { ActionRegistry } from '../src/actions/registry.js';
import { ParError } from '../src/errors/par-error.js';
import type { Logger } from '../src/logging/logger.js';
import { readCredentialFile } from './credentials.js';
import type { TaskSecrets } from './redaction.js';

export interface LifecycleActorDeps {
  registry: ActionRegistry;
  configDir: string;
  limits: ActionLimits;
  logger: Logger;
  /** Collects the credential values resolved for this task, for the worker's redaction of its outcome and logs. */
  secrets?: TaskSecrets;
  /** The trace context of a lifecycle state's span (task-tracing.ts), handed to the action as its parent. */
  traceContext?: (state: 'executing') => Context;
}

function lookup(registry: ActionRegistry, fqn: string): RegisteredAction {
  const action = registry.get(fqn);
  if (!action) throw new ParError('PAR_ERR_ACTION_UNKNOWN', fqn);
  return action;
}

/** Names the offending fields and what is wrong, never the values (inputs may hold secrets). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(inputs)'}: ${issue.message}`)
    .join('; ');
}

export function createLifecycleActors(deps: LifecycleActorDeps) {
  return {
    // eslint-disable-next-line @typescript-eslint/require-await -- async so a throw (unknown action, bad inputs) becomes the actor's rejection
    validateTask: fromPromise<ValidateTaskOutput, ValidateTaskInput>(async ({ input }) => {
      const parsed = lookup(deps.registry, input.action).inputSchema.safeParse(input.inputs);
      if (!parsed.success) throw new ParError('PAR_ERR_INPUT_INVALID', describeIssues(parsed.error));
      return parsed.data;
    }),

    resolveCredentials: fromPromise<ResolveCredentialsOutput, ResolveCredentialsInput>(async ({ input, signal }) => {
      const path = input.connection?.credentialPath;
      if (path === undefined) return undefined;
      const credentials = await readCredentialFile(deps.configDir, path, signal);
      deps.secrets?.addCredentials(credentials);
      deps.logger.debug({ connectionId: input.connection?.id }, 'credentials resolved');
      return credentials;
    }),

    executeAction: fromPromise<ExecuteActionOutput, ExecuteActionInput>(({ input, signal }) =>
      lookup(deps.registry, input.action).run(input.inputs, {
        signal,
        credentials: input.credentials,
        connection: input.connection,
        configDir: deps.configDir,
        logger: deps.logger,
        limits: deps.limits,
        ...(deps.traceContext ? { trace: deps.traceContext('executing') } : {}),
      })),
  };
}
