/**
 * Actor contracts of the task lifecycle machine. The machine names these actors; the worker
 * (`workers/lifecycle-actors.ts`) provides the real ones with `.provide()`, tests provide fakes.
 * Each is a `fromPromise`: it receives its input and an AbortSignal that aborts when the machine
 * leaves the invoking state (deadline, cancel), and it rejects with a ParError whose
 * `retryable` flag decides between `failedRetryable` and `failedFatal`. The placeholders fail
 * loudly and fatally, so a machine started without its actors never reports a success.
 */
import type { Credentials } from '../../src/contracts/credentials.js';
import { fromPromise } from 'xstate';
import type { ConnectionRef, TaskInputs } from '../../src/contracts/task.js';
import { ParError } from '../../src/errors/par-error.js';

/** Credentials as the resolver hands them to the action: parsed, never logged. */
export type ResolvedCredentials = Credentials;

export interface ValidateTaskInput {
  action: string;
  inputs: TaskInputs;
}
/** The inputs as the action will receive them (parsed, defaults applied). Rejects with PAR_ERR_INPUT_INVALID. */
export type ValidateTaskOutput = unknown;

export interface ResolveCredentialsInput {
  action: string;
  connection: ConnectionRef | undefined;
}
/** `undefined` when the task has no connection. Rejects with PAR_ERR_CREDENTIALS_UNAVAILABLE. */
export type ResolveCredentialsOutput = ResolvedCredentials | undefined;

export interface ExecuteActionInput {
  action: string;
  /** The output of `validateTask`. */
  inputs: unknown;
  credentials: ResolvedCredentials | undefined;
  connection: ConnectionRef | undefined;
  timeoutMs: number;
}
/** The action's output, which becomes the task's output. */
export type ExecuteActionOutput = unknown;

const notProvided = (name: string) => (): Promise<never> =>
  Promise.reject(new ParError('PAR_ERR_INTERNAL', `taskLifecycleMachine: actor "${name}" was not provided`, { retryable: false }));

export const validateTaskActor = fromPromise<ValidateTaskOutput, ValidateTaskInput>(notProvided('validateTask'));
export const resolveCredentialsActor = fromPromise<ResolveCredentialsOutput, ResolveCredentialsInput>(notProvided('resolveCredentials'));
export const executeActionActor = fromPromise<ExecuteActionOutput, ExecuteActionInput>(notProvided('executeAction'));
