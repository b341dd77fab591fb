/**
 * `com.datadoghq.http.request`: one HTTP exchange with a service in the private network. By
 * default every status is a normal output (as the vendor does); `errorOnStatus` turns chosen
 * statuses into failures. Connection auth, forbidden headers and the relative-URL rules live in
 * prepare.ts; the network policy is enforced by the dispatchers when sockets open.
 */
import { FormData, type Dispatcher } from 'undici';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { classifyHttpError, describeTarget, responseTooLarge, statusError, statusMatches } from './classify.js';
import { exchange, type RequestBody } from './exchange.js';
import { hasHeader, httpRequestInputSchema, type HttpRequestInput } from './inputs.js';
import { prepareRequest } from './prepare.js';
import { discardBody, flattenHeaders, parseBody, readCapped, type ResponseHeaders } from './response.js';

export const HTTP_REQUEST_FQN = 'com.datadoghq.http.request';

export interface HttpRequestOutput {
  status: number;
  headers: ResponseHeaders;
  body: unknown;
}

/** The bundle's pools, one per TLS mode. */
export interface HttpTransport {
  readonly verifying: Dispatcher;
  readonly insecure: Dispatcher;
}

function contentTypeOf(headers: ReadonlyArray<readonly [string, string]>): string {
  return headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1].toLowerCase() ?? '';
}

function encodeBody(inputs: HttpRequestInput, headers: Array<[string, string]>): RequestBody | undefined {
  if (inputs.formData !== undefined) {
    if (contentTypeOf(headers).startsWith('multipart/form-data')) {
      // undici writes the header with its boundary; a boundary-less one from the task would break parsing.
      const form = new FormData();
      for (const [k, v] of inputs.formData) form.append(k, v);
      headers.splice(0, headers.length, ...headers.filter(([k]) => k.toLowerCase() !== 'content-type'));
      return form;
    }
    if (!hasHeader(headers, 'content-type')) headers.push(['content-type', 'application/x-www-form-urlencoded']);
    return new URLSearchParams(inputs.formData.map(([k, v]): [string, string] => [k, v])).toString();
  }
  if (inputs.body === undefined || inputs.body === null) return undefined;
  if (typeof inputs.body === 'string') return inputs.body;
  if (!hasHeader(headers, 'content-type')) headers.push(['content-type', 'application/json']);
  return JSON.stringify(inputs.body);
}

export async function runHttpRequest(inputs: HttpRequestInput, ctx: ActionContext, transport: HttpTransport): Promise<HttpRequestOutput> {
  const prepared = prepareRequest(inputs, ctx);
  const headers = prepared.headers;
  const body = inputs.verb === 'HEAD' ? undefined : encodeBody(inputs, headers);
  const timeoutSignal = inputs.timeout === undefined ? undefined : AbortSignal.timeout(inputs.timeout);
  const signal = timeoutSignal ? AbortSignal.any([ctx.signal, timeoutSignal]) : ctx.signal;
  const failure = { taskSignal: ctx.signal, timeoutSignal, timeoutMs: inputs.timeout };
  const cap = ctx.limits.httpMaxResponseBytes;

  ctx.logger.debug({ target: describeTarget(inputs.verb, prepared.url), followRedirect: inputs.followRedirect }, 'http request');
  const { response, target } = await exchange({
    method: inputs.verb,
    url: prepared.url,
    headers,
    body,
    credentialHeaders: prepared.credentialHeaders,
    credentialParams: prepared.credentialParams,
    secretValues: prepared.secretValues,
    followRedirect: inputs.followRedirect,
    dispatcher: inputs.allowExpiredCertificate ? transport.insecure : transport.verifying,
    signal,
    ...failure,
  });
  try {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      discardBody(response.body);
      throw responseTooLarge(cap, target);
    }
    const raw = await readCapped(response.body, cap, target);
    if (statusMatches(response.statusCode, inputs.errorOnStatus)) throw statusError(response.statusCode, target);
    const responseHeaders = flattenHeaders(response.headers);
    return {
      status: response.statusCode,
      headers: responseHeaders,
      body: parseBody(raw, responseHeaders['content-type'], inputs.responseParsing, target),
    };
  } catch (error) {
    throw error instanceof ParError ? error : classifyHttpError(error, { target, ...failure });
  }
}

export function httpRequestAction(transport: HttpTransport): RegisteredAction {
  return defineAction({
    fqn: HTTP_REQUEST_FQN,
    inputSchema: httpRequestInputSchema,
    run: (inputs, ctx) => runHttpRequest(inputs, ctx, transport),
  });
}
