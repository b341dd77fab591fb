/**
 * What an HTTP connection adds to a request: its base URL, and its authentication.
 *
 *  - Basic Auth credential file -> `Authorization: Basic base64(username:password)`;
 *  - Token Auth credential file -> the connection's header and URL parameter templates, with
 *    `{{ tokenName }}` replaced by that token's value.
 *
 * Templates are plain lookups by token name (the vendor's template syntax), never evaluated. Errors name settings fields and token
 * names, never values. The settings shape is documented in README.md next to this file.
 *
 * Credentials are bound to an origin: a connection with a credential file must have a `baseUrl`
 * (`PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED`), and requests using it may only go to the scheme,
 * host and port of that `baseUrl` (`PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION`). Both are refused here,
 * before anything is sent; exchange.ts strips the credentials on a redirect to another origin.
 */
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import type { ActionContext } from '../action.js';
import type { Credentials } from '../../contracts/credentials.js';
import { parseTemplate, renderWith } from '../template.js';
import { headersSchema, httpUrlSchema, urlParamsSchema } from './inputs.js';

export const httpConnectionSettingsSchema = z.object({
  /** Absolute http(s) URL; a relative request `url` (starting with `/`) is appended to its path. */
  baseUrl: httpUrlSchema.optional(),
  /** Header templates, `[{key, value}]` or `{name: value}`. */
  headers: headersSchema.optional(),
  /** URL parameter templates, same shapes. */
  urlParams: urlParamsSchema.optional(),
});

/** What the request code applies: resolved values, which must never be logged or returned. */
export interface ConnectionAuth {
  /** Always set when the connection has a credential file: its origin is where they may go. */
  readonly baseUrl?: URL | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly urlParams: ReadonlyArray<readonly [string, string]>;
  /** The credential values themselves (tokens, Basic user:password and its base64 form). */
  readonly secretValues: readonly string[];
}

const NO_LINE_BREAK = /^[^\r\n\0]*$/;

/**
 * A connection header / URL-parameter value: `{{ tokenName }}` placeholders with the vendor's
 * template syntax (../template.ts; `{{ [token with space] }}` too). Stricter than the vendor, which
 * prints an unknown token as empty: here it is an error, so a typo never sends a request without
 * its credential.
 */
function renderConnectionTemplate(source: string, field: string, credentials: Credentials | undefined): string {
  const parsed = parseTemplate(source);
  if (!parsed.ok) throw new ParError('PAR_ERR_HTTP_CONNECTION_INVALID', `${field}: ${parsed.problem}`);
  return renderWith(parsed.template, (part) => {
    const name = part.path.join('.');
    // A dotted name (`{{ team.id }}`) matches a token named so; the vendor needs `{{ [team.id] }}`, which works too.
    const token = credentials?.authType === 'Token Auth' && Object.hasOwn(credentials.tokens, name) ? credentials.tokens[name] : undefined;
    if (token !== undefined) return token;
    const why =
      credentials === undefined
        ? 'the connection has no credential file'
        : credentials.authType === 'Token Auth'
          ? 'the credential file has no token of that name'
          : 'the credential file is Basic Auth, not Token Auth';
    throw new ParError('PAR_ERR_HTTP_TOKEN_UNKNOWN', `${field} references token "${name}": ${why}`);
  });
}

function render(
  pairs: ReadonlyArray<readonly [string, string]> | undefined,
  field: string,
  credentials: Credentials | undefined,
): Array<[string, string]> {
  return (pairs ?? []).map(([key, value]) => [key, renderConnectionTemplate(value, `${field} "${key}"`, credentials)]);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `settings.${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
}

/** Resolves the task's connection into what to add to the request (empty without a connection). */
export function resolveConnectionAuth(ctx: Pick<ActionContext, 'connection' | 'credentials'>): ConnectionAuth {
  const parsed = httpConnectionSettingsSchema.safeParse(ctx.connection?.settings ?? {});
  if (!parsed.success) throw new ParError('PAR_ERR_HTTP_CONNECTION_INVALID', describeIssue(parsed.error));
  const settings = parsed.data;
  const credentials = ctx.credentials;
  const hasCredentialFile = credentials !== undefined || (ctx.connection?.credentialPath ?? '') !== '';
  if (hasCredentialFile && settings.baseUrl === undefined) {
    throw new ParError(
      'PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED',
      'settings.baseUrl: required for a connection with a credential file (its credentials are only sent to that origin)',
    );
  }
  const baseUrl = settings.baseUrl === undefined ? undefined : new URL(settings.baseUrl);
  if (baseUrl && (baseUrl.username !== '' || baseUrl.password !== '')) {
    throw new ParError(
      'PAR_ERR_HTTP_CONNECTION_INVALID',
      'settings.baseUrl: must not carry user info (put credentials in the credential file)',
    );
  }
  const headers = render(settings.headers, 'settings.headers', credentials);
  for (const [key, value] of headers) {
    if (!NO_LINE_BREAK.test(value))
      throw new ParError('PAR_ERR_HTTP_CONNECTION_INVALID', `settings.headers "${key}": a token value contains a line break`);
  }
  const secretValues: string[] = [];
  if (credentials?.authType === 'Basic Auth') {
    const encoded = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    headers.push(['authorization', `Basic ${encoded}`]);
    secretValues.push(credentials.password, encoded);
  }
  if (credentials?.authType === 'Token Auth') secretValues.push(...Object.values(credentials.tokens));
  return {
    baseUrl,
    headers,
    urlParams: render(settings.urlParams, 'settings.urlParams', credentials),
    secretValues: secretValues.filter((v) => v.length > 0),
  };
}

/**
 * The request URL: a relative `url` (`/path?query`) is appended to the base URL's path, so it
 * cannot climb out of it; an absolute one must be on the base URL's origin, because connection
 * credentials are only for that origin.
 */
export function resolveRequestUrl(url: string, baseUrl: URL | undefined): URL {
  if (!url.startsWith('/')) {
    const absolute = new URL(url);
    if (baseUrl && absolute.origin !== baseUrl.origin) {
      throw new ParError('PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION', `${absolute.origin} is not ${baseUrl.origin}`);
    }
    return absolute;
  }
  if (!baseUrl) throw new ParError('PAR_ERR_INPUT_INVALID', 'url: a relative url needs a connection with a baseUrl');
  const relative = new URL(url, 'http://relative.invalid');
  const joined = new URL(baseUrl.href);
  joined.pathname = baseUrl.pathname.replace(/\/+$/, '') + relative.pathname;
  for (const [k, v] of relative.searchParams) joined.searchParams.append(k, v);
  joined.hash = '';
  return joined;
}
