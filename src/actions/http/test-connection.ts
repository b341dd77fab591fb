/**
 * `com.datadoghq.http.testConnection`: can the runner reach this URL? An unreachable target is an
 * answer (`reachable: false` with the error code), not a failure of the action.
 */
import { request, type Dispatcher } from 'undici';
import type { ErrorBody } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { classifyHttpError, describeTarget } from './classify.js';
import { httpTestConnectionInputSchema, toHeaderRecord } from './inputs.js';

export const HTTP_TEST_CONNECTION_FQN = 'com.datadoghq.http.testConnection';

export interface HttpTestConnectionOutput {
  reachable: boolean;
  status?: number;
  error?: ErrorBody;
}

export function httpTestConnectionAction(dispatcher: Dispatcher): RegisteredAction {
  return defineAction({
    fqn: HTTP_TEST_CONNECTION_FQN,
    inputSchema: httpTestConnectionInputSchema,
    async run(inputs, ctx): Promise<HttpTestConnectionOutput> {
      const url = new URL(inputs.url);
      const target = describeTarget('GET', url);
      const timeoutSignal = inputs.timeout === undefined ? undefined : AbortSignal.timeout(inputs.timeout);
      const signal = timeoutSignal ? AbortSignal.any([ctx.signal, timeoutSignal]) : ctx.signal;
      try {
        const response = await request(url, { dispatcher, method: 'GET', headers: toHeaderRecord(inputs.requestHeaders ?? []), signal });
        // Only the status matters: drop the body without buffering it.
        await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        return { reachable: true, status: response.statusCode };
      } catch (error) {
        const classified = classifyHttpError(error, { target, taskSignal: ctx.signal, timeoutSignal, timeoutMs: inputs.timeout });
        // A cancelled task is not an answer about the target.
        if (ctx.signal.aborted) throw classified;
        return { reachable: false, error: classified.toBody() };
      }
    },
  });
}
