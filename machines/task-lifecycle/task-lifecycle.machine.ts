/**
 * The life of one task in a worker: validate the inputs, resolve the connection's credentials,
 * execute the action under a deadline, and classify how it ended. No I/O here: the actors are
 * provided by the worker (and by tests). Leaving a state stops its actor, which aborts the
 * actor's AbortSignal: the deadline and `task.cancel` therefore cancel the action's work.
 *
 *   validating ──ok──▶ resolvingCredentials ──ok──▶ executing ──ok──▶ succeeded
 *        │                     │                     │   │
 *        └──── error ──────────┴──────── error ──────┘   └─ deadline ─▶ timedOut
 *                  ▼ (ParError.retryable)
 *         failedRetryable | failedFatal        task.cancel (any non-final state) ─▶ cancelled
 */
import { assign, setup } from 'xstate';
import type { ConnectionRef, TaskInputs } from '../../src/contracts/task.js';
import { ParError, toParError, type ErrorBody } from '../../src/errors/par-error.js';
import { executeActionActor, resolveCredentialsActor, validateTaskActor, type ResolvedCredentials } from './task-lifecycle.actors.js';
import { TASK_LIFECYCLE_ACTOR_IDS as IDS, TASK_LIFECYCLE_MACHINE_ID, type TaskLifecycleEvent } from './task-lifecycle.events.js';

export interface TaskLifecycleInput {
  taskId: string;
  action: string;
  inputs: TaskInputs;
  connection?: ConnectionRef | undefined;
  /** The deadline of `executing`, from the signed task. */
  timeoutMs: number;
  /** The clock (ms) `durationMs` is measured with: the machine reads no clock itself (`Date.now` in the worker). */
  now: () => number;
}

export const TASK_LIFECYCLE_FINAL_STATES = ['succeeded', 'failedRetryable', 'failedFatal', 'timedOut', 'cancelled'] as const;
export type TaskLifecycleFinalState = (typeof TASK_LIFECYCLE_FINAL_STATES)[number];

export interface TaskLifecycleOutput {
  kind: TaskLifecycleFinalState;
  /** The action's output (`succeeded` only). */
  output?: unknown;
  /** Why it did not succeed (every other kind). */
  error?: ErrorBody;
  durationMs: number;
}

export interface TaskLifecycleContext {
  input: TaskLifecycleInput;
  startedAt: number;
  validatedInputs: unknown;
  credentials: ResolvedCredentials | undefined;
  output: unknown;
  error: ErrorBody | undefined;
  /** Set on entry to a final state; the machine's output reads it. */
  kind: TaskLifecycleFinalState | undefined;
}

/** Anything that is not a ParError is a bug or an unexpected failure of the action: fatal. */
export function classifyActorError(error: unknown): ParError {
  return toParError(error, 'PAR_ERR_ACTION_FAILED');
}

const errorParams = ({ event }: { event: { error: unknown } }) => ({ error: event.error });
/** Every actor fails the same way: its error's `retryable` flag picks the final state. */
const onActorError = [
  {
    guard: { type: 'retryable' as const, params: errorParams },
    target: 'failedRetryable',
    actions: { type: 'recordError' as const, params: errorParams },
  },
  { target: 'failedFatal', actions: { type: 'recordError' as const, params: errorParams } },
];

export const taskLifecycleMachine = setup({
  types: {
    context: {} as TaskLifecycleContext,
    events: {} as TaskLifecycleEvent,
    input: {} as TaskLifecycleInput,
    output: {} as TaskLifecycleOutput,
  },
  actors: {
    validateTask: validateTaskActor,
    resolveCredentials: resolveCredentialsActor,
    executeAction: executeActionActor,
  },
  guards: {
    retryable: (_, params: { error: unknown }) => classifyActorError(params.error).retryable,
  },
  actions: {
    recordError: assign((_, params: { error: unknown }) => ({ error: classifyActorError(params.error).toBody() })),
  },
  delays: {
    deadline: ({ context }) => context.input.timeoutMs,
  },
}).createMachine({
  id: TASK_LIFECYCLE_MACHINE_ID,
  context: ({ input }) => ({
    input,
    startedAt: input.now(),
    validatedInputs: undefined,
    credentials: undefined,
    output: undefined,
    error: undefined,
    kind: undefined,
  }),
  initial: 'validating',
  on: {
    'task.cancel': {
      target: '.cancelled',
      actions: assign(({ event }) => ({
        error: new ParError('PAR_ERR_TASK_CANCELLED', event.reason).toBody(),
      })),
    },
  },
  states: {
    validating: {
      invoke: {
        id: IDS.validateTask,
        src: 'validateTask',
        input: ({ context }) => ({ action: context.input.action, inputs: context.input.inputs }),
        onDone: { target: 'resolvingCredentials', actions: assign({ validatedInputs: ({ event }) => event.output }) },
        onError: onActorError,
      },
    },
    resolvingCredentials: {
      invoke: {
        id: IDS.resolveCredentials,
        src: 'resolveCredentials',
        input: ({ context }) => ({ action: context.input.action, connection: context.input.connection }),
        onDone: { target: 'executing', actions: assign({ credentials: ({ event }) => event.output }) },
        onError: onActorError,
      },
    },
    executing: {
      invoke: {
        id: IDS.executeAction,
        src: 'executeAction',
        input: ({ context }) => ({
          action: context.input.action,
          inputs: context.validatedInputs,
          credentials: context.credentials,
          connection: context.input.connection,
          timeoutMs: context.input.timeoutMs,
        }),
        onDone: { target: 'succeeded', actions: assign({ output: ({ event }) => event.output }) },
        onError: onActorError,
      },
      after: {
        deadline: {
          target: 'timedOut',
          actions: assign(({ context }) => ({
            error: new ParError('PAR_ERR_TASK_TIMEOUT', `no result within ${context.input.timeoutMs} ms`).toBody(),
          })),
        },
      },
    },
    succeeded: { type: 'final', entry: assign({ kind: 'succeeded' as const }) },
    failedRetryable: { type: 'final', entry: assign({ kind: 'failedRetryable' as const }) },
    failedFatal: { type: 'final', entry: assign({ kind: 'failedFatal' as const }) },
    timedOut: { type: 'final', entry: assign({ kind: 'timedOut' as const }) },
    cancelled: { type: 'final', entry: assign({ kind: 'cancelled' as const }) },
  },
  output: ({ context }): TaskLifecycleOutput => {
    const kind = context.kind ?? 'failedFatal';
    const durationMs = Math.max(0, context.input.now() - context.startedAt);
    if (kind === 'succeeded') return { kind, output: context.output, durationMs };
    return { kind, error: context.error ?? new ParError('PAR_ERR_ACTION_FAILED').toBody(), durationMs };
  },
});
