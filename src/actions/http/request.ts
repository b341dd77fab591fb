/**
 * `com.datadoghq.http.request`: one HTTP exchange with a service in the private network. As in
 * the vendor runner, a 4xx or 5xx answer fails the action (its error quotes the status line and up
 * to 750 bytes of the body), `errorOnStatus` fails further listed statuses, and with
 * `followRedirect: false` a 3xx fails too. Connection auth, forbidden headers and the relative-URL rules live in
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
  // As the vendor sends it: any body but an empty string goes out JSON-encoded (a string too).
  if (inputs.body === undefined || inputs.body === null || inputs.body === '') return undefined;
  if (!hasHeader(headers, 'content-type')) headers.push(['content-type', 'application/json']);
  return JSON.stringify(inputs.body);
}

/** The vendor's client names itself `Datadog`; a task's own User-Agent wins here. */
export const DEFAULT_USER_AGENT = 'Datadog';

export async function runHttpRequest(inputs: HttpRequestInput, ctx: ActionContext, transport: HttpTransport): Promise<HttpRequestOutput> {
  const prepared = prepareRequest(inputs, ctx);
  const headers = prepared.headers;
  if (!hasHeader(headers, 'user-agent')) headers.push(['user-agent', DEFAULT_USER_AGENT]);
  const body = inputs.verb === 'HEAD' ? undefined : encodeBody(inputs, headers);
  const timeoutSignal = inputs.timeout === undefined ? undefined : AbortSignal.timeout(inputs.timeout);
  const signal = timeoutSignal ? AbortSignal.any([ctx.signal, timeoutSignal]) : ctx.signal;
  const failure = { taskSignal: ctx.signal, timeoutSignal, timeoutMs: inputs.timeout };
  const cap = ctx.limits.httpMaxResponseBytes;

  ctx.logger.debug({ target: describeTarget(inputs.verb, prepared.url), followRedirect: inputs.followRedirect !== false }, 'http request');
  const { response, target } = await exchange({
    method: inputs.verb,
    url: prepared.url,
    headers,
    body,
    credentialHeaders: prepared.credentialHeaders,
    credentialParams: prepared.credentialParams,
    secretValues: prepared.secretValues,
    followRedirect: inputs.followRedirect !== false,
    dispatcher: inputs.allowExpiredCertificate ? transport.insecure : transport.verifying,
    signal,
    ...failure,
    traceContext: ctx.trace,
  });
  try {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > cap) {
      discardBody(response.body);
      throw responseTooLarge(cap, target);
    }
    const raw = await readCapped(response.body, cap, target);
    // The vendor's order: a listed status, then a refused redirect, then the body must parse,
    // then any 4xx/5xx fails quoting the body.
    const status = response.statusCode;
    const listed = statusMatches(status, inputs.errorOnStatus);
    if (listed) throw statusError(status, target, raw, true);
    if (inputs.followRedirect === false && (inputs.errorOnStatus ?? []).length === 0 && status >= 300 && status < 400) {
      throw new ParError(
        'PAR_ERR_HTTP_STATUS',
        `${target}: server responded with status ${status}. Enable 'Follow redirect' to let the HTTP action follow redirections`,
      );
    }
    const responseHeaders = flattenHeaders(response.headers);
    const body = parseBody(raw, responseHeaders['content-type'], inputs.responseParsing, target, inputs.responseEncoding);
    if (status >= 400) throw statusError(status, target, raw, false);
    return { status, headers: responseHeaders, body };
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
