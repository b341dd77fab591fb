/**
 * `com.datadoghq.http.request`: one HTTP exchange with a service in the private network. By
 * default every status is a normal output (as the vendor does); `errorOnStatus` turns chosen
 * statuses into failures. Redirects are not followed yet.
 */
import { request, type Dispatcher } from 'undici';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { classifyHttpError, describeTarget, responseTooLarge, statusError, statusMatches } from './classify.js';
import { buildUrl, hasHeader, httpRequestInputSchema, toHeaderRecord, type HttpRequestInput } from './inputs.js';
import { discardBody, flattenHeaders, parseBody, readCapped, type ResponseHeaders } from './response.js';

export const HTTP_REQUEST_FQN = 'com.datadoghq.http.request';

export interface HttpRequestOutput {
  status: number;
  headers: ResponseHeaders;
  body: unknown;
}

function encodeBody(inputs: HttpRequestInput, headers: Array<[string, string]>): string | undefined {
  if (inputs.body === undefined || inputs.body === null) return undefined;
  if (typeof inputs.body === 'string') return inputs.body;
  if (!hasHeader(headers, 'content-type')) headers.push(['content-type', 'application/json']);
  return JSON.stringify(inputs.body);
}

export async function runHttpRequest(inputs: HttpRequestInput, ctx: ActionContext, dispatcher: Dispatcher): Promise<HttpRequestOutput> {
  const url = buildUrl(inputs.url, inputs.urlParams);
  const target = describeTarget(inputs.verb, url);
  const headers: Array<[string, string]> = [...(inputs.requestHeaders ?? [])];
  const body = inputs.verb === 'HEAD' ? undefined : encodeBody(inputs, headers);
  const timeoutSignal = inputs.timeout === undefined ? undefined : AbortSignal.timeout(inputs.timeout);
  const signal = timeoutSignal ? AbortSignal.any([ctx.signal, timeoutSignal]) : ctx.signal;
  const failure = { target, taskSignal: ctx.signal, timeoutSignal, timeoutMs: inputs.timeout };
  const cap = ctx.limits.httpMaxResponseBytes;

  ctx.logger.debug({ target }, 'http request');
  try {
    const response = await request(url, { dispatcher, method: inputs.verb, headers: toHeaderRecord(headers), body, signal });
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      discardBody(response.body);
      throw responseTooLarge(cap, target);
    }
    const raw = await readCapped(response.body, cap, target);
    if (statusMatches(response.statusCode, inputs.errorOnStatus)) throw statusError(response.statusCode, target);
    const responseHeaders = flattenHeaders(response.headers);
    return { status: response.statusCode, headers: responseHeaders, body: parseBody(raw, responseHeaders['content-type']) };
  } catch (error) {
    throw error instanceof ParError ? error : classifyHttpError(error, failure);
  }
}

export function httpRequestAction(dispatcher: Dispatcher): RegisteredAction {
  return defineAction({
    fqn: HTTP_REQUEST_FQN,
    inputSchema: httpRequestInputSchema,
    run: (inputs, ctx) => runHttpRequest(inputs, ctx, dispatcher),
  });
}
