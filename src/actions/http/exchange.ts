/**
 * One HTTP exchange, following redirects when asked. Redirects are followed here rather than by
 * an undici interceptor so each hop is visible: every hop opens its connections through the
 * network policy (allowlist, blocked ranges), and credentials never follow the request to
 * another origin: on a hop that leaves it the connection's headers, `authorization` (Token or
 * Basic), `cookie`, `proxy-authorization` and the connection's URL parameters (and any parameter
 * holding a credential value) are dropped, for that hop and every later one. Failures leave here
 * already classified.
 */
import type { Context } from '@opentelemetry/api';
import { request, type Dispatcher, type FormData } from 'undici';
import { ParError } from '../../errors/par-error.js';
import { classifyHttpError, describeTarget } from './classify.js';
import { endClientSpan, failClientSpan, startClientSpan } from './client-span.js';
import type { HttpVerb } from './inputs.js';
import { toHeaderRecord } from './inputs.js';

export const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Dropped on a cross-origin hop, as browsers do (Fetch standard), plus the connection's own headers. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

export type RequestBody = string | Buffer | FormData;

export interface ExchangeRequest {
  readonly method: HttpVerb;
  readonly url: URL;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body?: RequestBody | undefined;
  /** Lower-case names of headers that carry connection credentials. */
  readonly credentialHeaders: ReadonlySet<string>;
  /** Names of URL parameters that carry connection credentials. */
  readonly credentialParams?: ReadonlySet<string> | undefined;
  /** Credential values: a parameter holding one is dropped on a cross-origin hop whatever its name. */
  readonly secretValues?: readonly string[] | undefined;
  readonly followRedirect: boolean;
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal;
  readonly taskSignal: AbortSignal;
  readonly timeoutSignal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** Tracing only: the parent of each hop's client span (the action context's `trace`). */
  readonly traceContext?: Context | undefined;
}

export interface ExchangeResult {
  readonly response: Dispatcher.ResponseData;
  /** The URL that answered (after redirects). */
  readonly url: URL;
  /** `METHOD origin/path` of that URL, safe for messages. */
  readonly target: string;
}

async function drain(body: Dispatcher.ResponseData['body']): Promise<void> {
  await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

function locationOf(response: Dispatcher.ResponseData): string | undefined {
  const value = response.headers['location'];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Removes, in place, the connection's URL parameters and any parameter whose name or value holds a
 * credential value (a server reflecting the query into its Location would otherwise carry them).
 */
function stripCredentialParams(url: URL, names: ReadonlySet<string>, secrets: readonly string[]): void {
  // Very short values (a team id "42") would match everything; their parameters go by name.
  const holdsSecret = (text: string): boolean => secrets.some((s) => s.length >= 4 && text.includes(s));
  const kept = [...url.searchParams].filter(([k, v]) => !names.has(k) && !holdsSecret(k) && !holdsSecret(v));
  if (kept.length === [...url.searchParams].length) return;
  url.search = new URLSearchParams(kept).toString();
}

export async function exchange(req: ExchangeRequest): Promise<ExchangeResult> {
  let method = req.method;
  let url = req.url;
  let body = req.body;
  let headers = [...req.headers];
  let credentialsDropped = false;
  for (let hop = 0; ; hop++) {
    if (credentialsDropped) stripCredentialParams(url, req.credentialParams ?? new Set(), req.secretValues ?? []);
    const target = describeTarget(method, url);
    let response: Dispatcher.ResponseData;
    const span = startClientSpan(method, url, hop, req.traceContext);
    try {
      response = await request(url, { dispatcher: req.dispatcher, method, headers: toHeaderRecord(headers), body, signal: req.signal });
    } catch (error) {
      const failure = classifyHttpError(error, {
        target,
        taskSignal: req.taskSignal,
        timeoutSignal: req.timeoutSignal,
        timeoutMs: req.timeoutMs,
      });
      failClientSpan(span, failure instanceof ParError ? failure.code : 'error');
      throw failure;
    }
    endClientSpan(span, response.statusCode);
    const location = locationOf(response);
    if (!req.followRedirect || !REDIRECT_STATUSES.has(response.statusCode) || location === undefined) return { response, url, target };

    await drain(response.body);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new ParError('PAR_ERR_HTTP_TOO_MANY_REDIRECTS', `${target}: redirect to an unparsable Location`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new ParError('PAR_ERR_HTTP_TOO_MANY_REDIRECTS', `${target}: redirect to a ${next.protocol} URL`);
    if (hop + 1 > MAX_REDIRECTS) throw new ParError('PAR_ERR_HTTP_TOO_MANY_REDIRECTS', `${target}: more than ${MAX_REDIRECTS} redirects`);
    // 303, and 301/302 after a POST, turn into a GET without a body (what every client does).
    if (
      (response.statusCode === 303 && method !== 'HEAD') ||
      ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')
    ) {
      method = 'GET';
      body = undefined;
      headers = headers.filter(([k]) => !k.toLowerCase().startsWith('content-'));
    }
    if (next.origin !== url.origin) {
      headers = headers.filter(([k]) => !CREDENTIAL_HEADERS.has(k.toLowerCase()) && !req.credentialHeaders.has(k.toLowerCase()));
      stripCredentialParams(next, req.credentialParams ?? new Set(), req.secretValues ?? []);
      // Leaving the origin once is enough: credentials do not come back on a later hop home.
      credentialsDropped = true;
    }
    url = next;
  }
}
