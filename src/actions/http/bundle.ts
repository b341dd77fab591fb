/**
 * The `com.datadoghq.http` bundle: its actions share one undici Agent (connection pool) for the
 * life of the worker, created here once, closed with the bundle.
 */
import { Agent } from 'undici';
import type { RegisteredAction } from '../action.js';
import { httpRequestAction } from './request.js';
import { httpTestConnectionAction } from './test-connection.js';

export interface HttpBundle {
  readonly actions: readonly RegisteredAction[];
  close(): Promise<void>;
}

export function createHttpBundle(): HttpBundle {
  const agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 4_000 });
  return {
    actions: [httpRequestAction(agent), httpTestConnectionAction(agent)],
    close: () => agent.close(),
  };
}
