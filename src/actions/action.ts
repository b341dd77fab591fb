/**
 * The contract every action implements. An action declares its inputs as a zod schema (the
 * worker validates them before running) and runs with a context that carries the cancellation
 * signal: when the task times out or is cancelled the signal aborts, and the action must stop
 * its work (close sockets, kill processes) rather than run on unobserved.
 */
import type { Context } from '@opentelemetry/api';
import type { z } from 'zod';
import type { ConnectionRef } from '../contracts/task.js';
import type { Logger } from '../logging/logger.js';
import type { Credentials } from '../contracts/credentials.js';

/** A connection's credentials, parsed from its file in the seed's format (see credentials.ts). */
export type ActionCredentials = Credentials;

/** Resource caps, from the worker's config. */
export interface ActionLimits {
  readonly httpMaxResponseBytes: number;
}

export interface ActionContext {
  readonly signal: AbortSignal;
  readonly credentials?: ActionCredentials | undefined;
  /** The task's connection (integration type, non-secret settings), when it has one. */
  readonly connection?: ConnectionRef | undefined;
  /** The runner's config dir (script config, CA bundles, kubeconfig live there). */
  readonly configDir: string;
  /** The task's child logger. Never log input values or credentials through it. */
  readonly logger: Logger;
  readonly limits: ActionLimits;
  /** Tracing only: the parent of the spans the action makes (its lifecycle state's span; a no-op context when tracing is off). */
  readonly trace?: Context | undefined;
}

/** An action as the registry holds it: its inputs erased to `unknown`. */
export interface RegisteredAction {
  readonly fqn: string;
  readonly inputSchema: z.ZodType;
  /** `inputs` is always the output of `inputSchema` (the lifecycle validates before executing). */
  run(inputs: unknown, ctx: ActionContext): Promise<unknown>;
}

export interface ActionDefinition<S extends z.ZodType, O> {
  readonly fqn: string;
  readonly inputSchema: S;
  run(inputs: z.output<S>, ctx: ActionContext): Promise<O>;
}

/**
 * Erases an action's input type so actions of different shapes share one registry. The cast is
 * sound because the worker only ever passes `inputSchema.parse(...)` output to `run`.
 */
export function defineAction<S extends z.ZodType, O>(definition: ActionDefinition<S, O>): RegisteredAction {
  return {
    fqn: definition.fqn,
    inputSchema: definition.inputSchema,
    run: (inputs, ctx) => definition.run(inputs as z.output<S>, ctx),
  };
}
