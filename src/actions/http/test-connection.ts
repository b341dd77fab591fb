/**
 * `com.datadoghq.http.testConnection`: can the runner reach this URL (by default the connection's
 * baseUrl), with the connection's auth applied? An unreachable or refused target is an answer
 * (`reachable: false` with the error code), not a failure of the action; a broken connection
 * definition (unknown token, bad settings) and cancellation are failures.
 */
import { ParError, type ErrorBody } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { exchange } from './exchange.js';
import { httpTestConnectionInputSchema } from './inputs.js';
import { prepareRequest } from './prepare.js';
import type { HttpTransport } from './request.js';

export const HTTP_TEST_CONNECTION_FQN = 'com.datadoghq.http.testConnection';

export interface HttpTestConnectionOutput {
  reachable: boolean;
  status?: number;
  error?: ErrorBody;
}

/** Codes that describe the target or the path to it, so they are answers about reachability. */
const ANSWER_CODES: ReadonlySet<string> = new Set([
  'PAR_ERR_HTTP_CONNECT',
  'PAR_ERR_HTTP_TLS',
  'PAR_ERR_HTTP_HOST_NOT_ALLOWED',
  'PAR_ERR_HTTP_ADDRESS_BLOCKED',
  'PAR_ERR_TASK_TIMEOUT',
]);

export function httpTestConnectionAction(transport: HttpTransport): RegisteredAction {
  return defineAction({
    fqn: HTTP_TEST_CONNECTION_FQN,
    inputSchema: httpTestConnectionInputSchema,
    async run(inputs, ctx): Promise<HttpTestConnectionOutput> {
      const prepared = prepareRequest(inputs, ctx);
      const timeoutSignal = inputs.timeout === undefined ? undefined : AbortSignal.timeout(inputs.timeout);
      const signal = timeoutSignal ? AbortSignal.any([ctx.signal, timeoutSignal]) : ctx.signal;
      try {
        const { response } = await exchange({
          method: 'GET',
          url: prepared.url,
          headers: prepared.headers,
          credentialHeaders: prepared.credentialHeaders,
          credentialParams: prepared.credentialParams,
          secretValues: prepared.secretValues,
          followRedirect: false,
          dispatcher: inputs.allowExpiredCertificate ? transport.insecure : transport.verifying,
          signal,
          taskSignal: ctx.signal,
          timeoutSignal,
          timeoutMs: inputs.timeout,
          traceContext: ctx.trace,
        });
        // Only the status matters: drop the body without buffering it.
        await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        return { reachable: true, status: response.statusCode };
      } catch (error) {
        // A cancelled task is not an answer about the target.
        if (ctx.signal.aborted || !(error instanceof ParError) || !ANSWER_CODES.has(error.code)) throw error;
        return { reachable: false, error: error.toBody() };
      }
    },
  });
}
