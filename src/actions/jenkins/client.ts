/**
 * Talking to one Jenkins controller, as the vendor does: HTTP Basic with the user name and API
 * token from the connection's credential file (Token Auth: `username`, `token`, `domain`), JSON
 * accepted, against the `domain` URL. Writes (build, delete) first ask the crumb issuer
 * (`GET /crumbIssuer/api/json`) and send the crumb in the header it names, with the session cookie
 * it was issued under (Jenkins binds crumbs to the session); a 404 there means CSRF protection is
 * off and the write goes without a crumb. Requests go through the dispatcher the registry passes
 * (the HTTP bundle's policy-guarded pool: host allowlist, blocked address ranges, per socket).
 * Redirects are not followed: Jenkins answers its API with 2xx, and a redirect would carry the
 * Basic credentials elsewhere.
 */
import { request, type Dispatcher } from 'undici';
import { ParError } from '../../errors/par-error.js';
import type { ActionContext } from '../action.js';
import { classifyJenkinsError, jenkinsStatusError } from './classify.js';

export interface JenkinsTarget {
  /** The domain URL without a trailing slash (it may carry a path prefix: https://ci.example.com/jenkins). */
  readonly base: string;
  readonly authorization: string;
}

/** The vendor's getHeadersAndDomain: the three tokens must be there and non-empty. */
export function jenkinsTarget(ctx: Pick<ActionContext, 'credentials'>): JenkinsTarget {
  const c = ctx.credentials;
  if (c?.authType !== 'Token Auth') {
    throw new ParError(
      'PAR_ERR_JENKINS_CREDENTIALS_INVALID',
      'the connection needs a Token Auth credential file with the tokens username, token and domain',
    );
  }
  const missing = ['username', 'token', 'domain'].filter((name) => !c.tokens[name]);
  const domain = c.tokens['domain'];
  if (missing.length > 0 || domain === undefined)
    throw new ParError('PAR_ERR_JENKINS_CREDENTIALS_INVALID', `missing required credentials: ${missing.join(', ')}`);
  let url: URL;
  try {
    url = new URL(domain);
  } catch {
    throw new ParError('PAR_ERR_JENKINS_CREDENTIALS_INVALID', 'the domain token is not an absolute URL');
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new ParError('PAR_ERR_JENKINS_CREDENTIALS_INVALID', 'the domain token must be an http(s) URL without user, query or fragment');
  }
  const authorization = `Basic ${Buffer.from(`${c.tokens['username']}:${c.tokens['token']}`, 'utf8').toString('base64')}`;
  return { base: url.href.replace(/\/+$/, ''), authorization };
}

export interface JenkinsResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

interface Crumb {
  readonly field: string;
  readonly value: string;
  readonly cookie?: string | undefined;
}

export class JenkinsClient {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly target: JenkinsTarget,
    /** The task's signal, and the worker's response cap (PAR_HTTP_MAX_RESPONSE_BYTES) for every answer. */
    private readonly ctx: Pick<ActionContext, 'signal' | 'limits'>,
  ) {}

  private describe(method: string, pathAndQuery: string): string {
    const url = new URL(this.target.base + pathAndQuery);
    return `${method} ${url.origin}${url.pathname}`;
  }

  /** One exchange; any answer comes back (the caller decides on the status). */
  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    pathAndQuery: string,
    extra: Record<string, string> = {},
  ): Promise<JenkinsResponse> {
    const describe = this.describe(method, pathAndQuery);
    if (this.ctx.signal.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', `${describe}: aborted before sending`);
    try {
      const response = await request(this.target.base + pathAndQuery, {
        dispatcher: this.dispatcher,
        method,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          authorization: this.target.authorization,
          'user-agent': 'Datadog',
          ...extra,
        },
        signal: this.ctx.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.ctx.limits.httpMaxResponseBytes) {
          response.body.on('error', () => undefined);
          response.body.destroy();
          throw new ParError(
            'PAR_ERR_JENKINS_RESPONSE_INVALID',
            `${describe}: response larger than ${this.ctx.limits.httpMaxResponseBytes} bytes`,
          );
        }
        chunks.push(chunk);
      }
      return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
    } catch (error) {
      throw classifyJenkinsError(error, describe, this.ctx.signal);
    }
  }

  /** GET that must answer 2xx. */
  async get(path: string): Promise<JenkinsResponse> {
    const response = await this.send('GET', path);
    if (response.status < 200 || response.status >= 300) throw jenkinsStatusError(response.status, 'GET', this.describe('GET', path));
    return response;
  }

  /** The crumb for a write, or undefined when the controller issues none (404: CSRF protection off). */
  private async crumb(): Promise<Crumb | undefined> {
    const path = '/crumbIssuer/api/json';
    const response = await this.send('GET', path);
    if (response.status === 404) return undefined;
    if (response.status < 200 || response.status >= 300) throw jenkinsStatusError(response.status, 'GET', this.describe('GET', path));
    let parsed: { crumbRequestField?: unknown; crumb?: unknown };
    try {
      parsed = JSON.parse(response.body.toString('utf8')) as typeof parsed;
    } catch {
      throw new ParError(
        'PAR_ERR_JENKINS_RESPONSE_INVALID',
        `${this.describe('GET', path)}: the crumb issuer answered with a body that is not JSON`,
      );
    }
    const field = parsed.crumbRequestField;
    const value = parsed.crumb;
    if (typeof field !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(field) || typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      throw new ParError(
        'PAR_ERR_JENKINS_RESPONSE_INVALID',
        `${this.describe('GET', path)}: the crumb issuer answer has no usable crumbRequestField/crumb`,
      );
    }
    // The session the crumb belongs to: cookie name=value pairs only, attributes dropped.
    const setCookie = response.headers['set-cookie'];
    const cookies = (Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [])
      .map((c) => (c.split(';')[0] ?? '').trim())
      .filter((c) => c.includes('=') && !/[\r\n\0]/.test(c));
    return { field, value, cookie: cookies.length > 0 ? cookies.join('; ') : undefined };
  }

  /** A POST or DELETE with the crumb when one is issued; must answer 2xx. */
  async write(method: 'POST' | 'DELETE', pathAndQuery: string): Promise<JenkinsResponse> {
    const crumb = await this.crumb();
    const headers: Record<string, string> = {};
    if (crumb) {
      headers[crumb.field] = crumb.value;
      if (crumb.cookie) headers['cookie'] = crumb.cookie;
    }
    const response = await this.send(method, pathAndQuery, headers);
    if (response.status < 200 || response.status >= 300)
      throw jenkinsStatusError(response.status, method, this.describe(method, pathAndQuery));
    return response;
  }
}
