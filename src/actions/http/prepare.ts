/**
 * Shared by `request` and `testConnection`: the task's URL, headers and URL parameters merged with
 * what its connection adds. Connection headers and parameters win over same-named task ones (the
 * connection's auth is the runner operator's decision, not the task's). Everything is checked
 * here, before any network activity.
 */
import { ParError } from '../../errors/par-error.js';
import type { ActionContext } from '../action.js';
import { resolveConnectionAuth, resolveRequestUrl } from './connection-auth.js';
import { assertAllowedHeaders } from './forbidden-headers.js';

export interface RequestParts {
  readonly url?: string | undefined;
  readonly requestHeaders?: ReadonlyArray<readonly [string, string]> | undefined;
  readonly urlParams?: ReadonlyArray<readonly [string, string]> | undefined;
}

export interface PreparedRequest {
  readonly url: URL;
  readonly headers: Array<[string, string]>;
  /** Lower-case names of the headers the connection set: they carry credentials. */
  readonly credentialHeaders: ReadonlySet<string>;
  /** Names of the URL parameters the connection set: they carry credentials. */
  readonly credentialParams: ReadonlySet<string>;
  /** Credential values, so a redirect to another origin can drop any parameter echoing one. */
  readonly secretValues: readonly string[];
}

export function prepareRequest(parts: RequestParts, ctx: Pick<ActionContext, 'connection' | 'credentials'>): PreparedRequest {
  const taskHeaders = parts.requestHeaders ?? [];
  assertAllowedHeaders(taskHeaders, 'requestHeaders');
  const auth = resolveConnectionAuth(ctx);
  assertAllowedHeaders(auth.headers, 'connection settings.headers');

  const raw = parts.url ?? auth.baseUrl?.href;
  if (raw === undefined) throw new ParError('PAR_ERR_INPUT_INVALID', 'url: required when the connection has no baseUrl');
  const url = resolveRequestUrl(raw, auth.baseUrl);
  for (const [k, v] of parts.urlParams ?? []) url.searchParams.append(k, v);
  for (const key of new Set(auth.urlParams.map(([k]) => k))) url.searchParams.delete(key);
  for (const [k, v] of auth.urlParams) url.searchParams.append(k, v);

  const credentialHeaders = new Set(auth.headers.map(([k]) => k.toLowerCase()));
  const headers: Array<[string, string]> = [
    ...taskHeaders.filter(([k]) => !credentialHeaders.has(k.toLowerCase())).map(([k, v]): [string, string] => [k, v]),
    ...auth.headers.map(([k, v]): [string, string] => [k, v]),
  ];
  return { url, headers, credentialHeaders, credentialParams: new Set(auth.urlParams.map(([k]) => k)), secretValues: auth.secretValues };
}
