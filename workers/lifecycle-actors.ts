/**
 * The real actors of the task lifecycle machine: validation with the action's zod schema,
 * credentials from the config dir, execution through the action registry with the machine's
 * AbortSignal.
 *
 * Built ONCE per worker (`LifecycleRuns`): `machine.provide()` and the actors cost more CPU than
 * the rest of a small task's run. What belongs to one run (its logger, its secrets, its trace)
 * is bound to the run's actor system (`bind`) and looked up by the actors through the `system`
 * XState hands them; every run is its own root actor, so its own system.
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

/** A run's root actor system, used only as an identity (WeakMap key). */
type RunKey = object;
import type { TaskSecrets } from './redaction.js';

/** What every run of a worker shares. */
export interface WorkerActorDeps {
  registry: ActionRegistry;
  configDir: string;
  limits: ActionLimits;
}

/** What belongs to one run. */
export interface RunActorDeps {
  logger: Logger;
  /** Collects the credential values resolved for this task, for the worker's redaction of its outcome and logs. */
  secrets?: TaskSecrets;
  /** The trace context of a lifecycle state's span (task-tracing.ts), handed to the action as its parent. */
  traceContext?: (state: 'executing') => Context;
}

export type LifecycleActorDeps = WorkerActorDeps & RunActorDeps;

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

/** Actors for one run (tests): everything from `deps`. */
export function createLifecycleActors(deps: LifecycleActorDeps) {
  return buildActors(deps, () => deps);
}

/** The worker's actors, built once; each run binds its own deps to its actor system. */
export class LifecycleRuns {
  private readonly runs = new WeakMap<RunKey, RunActorDeps>();
  readonly actors: ReturnType<typeof buildActors>;

  constructor(shared: WorkerActorDeps) {
    this.actors = buildActors(shared, (system) => {
      const run = this.runs.get(system);
      // Only an actor started outside `bind` (a bug) gets here: fail the run, never guess.
      if (!run) throw new ParError('PAR_ERR_INTERNAL', 'lifecycle actor started without its run', { retryable: false });
      return run;
    });
  }

  /** Binds one run's deps to its root actor's system (before `start`); dropped with the actor. */
  bind(system: RunKey, run: RunActorDeps): void {
    this.runs.set(system, run);
  }
}

function buildActors(shared: WorkerActorDeps, runOf: (system: RunKey) => RunActorDeps) {
  return {
    // eslint-disable-next-line @typescript-eslint/require-await -- async so a throw (unknown action, bad inputs) becomes the actor's rejection
    validateTask: fromPromise<ValidateTaskOutput, ValidateTaskInput>(async ({ input }) => {
      const parsed = lookup(shared.registry, input.action).inputSchema.safeParse(input.inputs);
      if (!parsed.success) throw new ParError('PAR_ERR_INPUT_INVALID', describeIssues(parsed.error));
      return parsed.data;
    }),

    resolveCredentials: fromPromise<ResolveCredentialsOutput, ResolveCredentialsInput>(async ({ input, signal, system }) => {
      const run = runOf(system);
      const path = input.connection?.credentialPath;
      if (path === undefined) return undefined;
      const credentials = await readCredentialFile(shared.configDir, path, signal);
      run.secrets?.addCredentials(credentials);
      run.logger.debug({ connectionId: input.connection?.id }, 'credentials resolved');
      return credentials;
    }),

    executeAction: fromPromise<ExecuteActionOutput, ExecuteActionInput>(({ input, signal, system }) => {
      const run = runOf(system);
      return lookup(shared.registry, input.action).run(input.inputs, {
        signal,
        credentials: input.credentials,
        connection: input.connection,
        configDir: shared.configDir,
        logger: run.logger,
        limits: shared.limits,
        ...(run.traceContext ? { trace: run.traceContext('executing') } : {}),
      });
    }),
  };
}
