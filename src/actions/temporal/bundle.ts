/**
 * The `com.datadoghq.temporal` bundle: its actions share one connection cache (a
 * @temporalio/client Connection per credential set) for the life of the worker, created here,
 * closed with the bundle. The client library itself is imported on the first Temporal task.
 */
import type { RegisteredAction } from '../action.js';
import { createTemporalActions } from './actions.js';
import { DEFAULT_TEMPORAL_CONNECTION_OPTIONS, TemporalConnectionCache, type TemporalConnectionOptions } from './connections.js';

export const DEFAULT_MAX_LISTED_WORKFLOWS = 1000;

export interface TemporalBundleOptions {
  readonly connection?: Partial<TemporalConnectionOptions>;
  readonly maxListedWorkflows?: number;
}

export interface TemporalBundle {
  readonly actions: readonly RegisteredAction[];
  /** Exposed for tests and diagnostics: how many credential sets have a connection. */
  readonly connections: TemporalConnectionCache;
  close(): Promise<void>;
}

export function createTemporalBundle(options: TemporalBundleOptions = {}): TemporalBundle {
  const connections = new TemporalConnectionCache({ ...DEFAULT_TEMPORAL_CONNECTION_OPTIONS, ...options.connection });
  return {
    actions: createTemporalActions({ connections, maxListedWorkflows: options.maxListedWorkflows ?? DEFAULT_MAX_LISTED_WORKFLOWS }),
    connections,
    close: () => connections.close(),
  };
}
