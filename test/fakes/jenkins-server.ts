/**
 * A FAKE Jenkins controller for tests. No Jenkins runs on the test machine, so this stands in for
 * one on loopback (node:http, 127.0.0.1, random port), speaking Jenkins' HTTP JSON API as the
 * runner's Jenkins actions use it: the same URLs, verbs, status codes, headers and JSON shapes
 * (`_class`, `building`, `result`, `url`...). It is NOT Jenkins.
 *
 * Covered:
 * - HTTP Basic with a user name and API token; 401 (with `WWW-Authenticate: Basic realm="Jenkins"`)
 *   for a missing or wrong one.
 * - CSRF crumbs: `GET /crumbIssuer/api/json` issues `{crumbRequestField: "Jenkins-Crumb", crumb}`
 *   bound to a new `JSESSIONID` session cookie; every POST/DELETE must carry the crumb header and
 *   the matching cookie, else 403 "No valid crumb was included in the request". With
 *   `crumbs: false` the crumb issuer answers 404 and writes need no crumb. (Real Jenkins exempts
 *   API-token requests from the crumb check; this fake is stricter on purpose, so the crumb path
 *   is exercised.)
 * - Jobs (`addJob`), including folders (`/job/a/job/b`): `POST /job/<name>/build` (400 for a
 *   parameterized job) and `/buildWithParameters` (400 for a job without parameters; undeclared
 *   parameters ignored, defaults filled) answer 201 with `Location: <root>/queue/item/<n>/`;
 *   `GET /queue/item/<n>/api/json` (a left item with `executable`), `GET /job/<name>/<build>/api/json`,
 *   `/lastBuild/api/json` (404 while the job has no build), `DELETE /job/<name>/` (204) and
 *   `POST /job/<name>/doDelete` (302 to the parent). Builds start at once and run until
 *   `finishBuild`.
 * - `failNext(status, method?)` for the next request, or the next of one method (5xx/429 paths).
 * Not covered: the HTML UI, pipelines, agents, the queue waiting, tree= filters, permissions
 * other than "authenticated can do everything".
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeJenkinsBuild {
  number: number;
  building: boolean;
  result: string | null;
  parameters: Record<string, string>;
  timestamp: number;
  duration: number;
}

export interface FakeJenkinsJob {
  name: string;
  /** Parameter names with their defaults; undefined for a job without parameters. */
  parameters?: Record<string, string> | undefined;
  builds: FakeJenkinsBuild[];
}

export interface RecordedJenkinsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
}

export interface FakeJenkinsServer {
  url: string;
  readonly requests: RecordedJenkinsRequest[];
  addJob(name: string, options?: { parameters?: Record<string, string> }): void;
  job(name: string): FakeJenkinsJob | undefined;
  finishBuild(name: string, number: number, result: 'SUCCESS' | 'FAILURE' | 'ABORTED' | 'UNSTABLE', durationMs?: number): void;
  /** The next request (of `method`, when given) fails with this status. */
  failNext(status: number, method?: string): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startFakeJenkinsServer(options: {
  username: string;
  token: string;
  crumbs?: boolean;
  contextPath?: string;
}): Promise<FakeJenkinsServer> {
  const requests: RecordedJenkinsRequest[] = [];
  const jobs = new Map<string, FakeJenkinsJob>();
  const sessions = new Map<string, string>(); // JSESSIONID -> crumb
  const queue = new Map<number, { job: string; build: number }>();
  let queueId = 0;
  let failure: { status: number; method?: string | undefined } | undefined;
  const crumbs = options.crumbs ?? true;
  const context = (options.contextPath ?? '').replace(/\/+$/, '');
  let root = '';

  const jobUrl = (name: string) =>
    `${root}/${name
      .split('/')
      .map((s) => `job/${encodeURIComponent(s)}`)
      .join('/')}/`;
  const buildJson = (job: FakeJenkinsJob, b: FakeJenkinsBuild) => ({
    _class: 'hudson.model.FreeStyleBuild',
    actions:
      Object.keys(b.parameters).length > 0
        ? [
            {
              _class: 'hudson.model.ParametersAction',
              parameters: Object.entries(b.parameters).map(([name, value]) => ({
                _class: 'hudson.model.StringParameterValue',
                name,
                value,
              })),
            },
          ]
        : [],
    building: b.building,
    description: null,
    displayName: `#${b.number}`,
    duration: b.duration,
    estimatedDuration: 42_000,
    fullDisplayName: `${job.name.split('/').join(' » ')} #${b.number}`,
    id: String(b.number),
    number: b.number,
    queueId: b.number,
    result: b.result,
    timestamp: b.timestamp,
    url: `${jobUrl(job.name)}${b.number}/`,
  });

  function authenticate(req: IncomingMessage): void {
    const expected = `Basic ${Buffer.from(`${options.username}:${options.token}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      throw new HttpError(401, `Invalid password/token for user: ${options.username}`, { 'www-authenticate': 'Basic realm="Jenkins"' });
    }
  }

  function checkCrumb(req: IncomingMessage): void {
    if (!crumbs) return;
    const session = /(?:^|;\s*)JSESSIONID\.[0-9a-f]+=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const crumb = req.headers['jenkins-crumb'];
    if (!session || typeof crumb !== 'string' || sessions.get(session) !== crumb)
      throw new HttpError(403, 'No valid crumb was included in the request');
  }

  /** `/job/a/job/b/rest...` -> job name `a/b` and the rest. */
  function parseJobPath(parts: string[]): { name: string; rest: string[] } | undefined {
    const names: string[] = [];
    let i = 0;
    while (parts[i] === 'job' && parts[i + 1] !== undefined) {
      names.push(parts[i + 1]!);
      i += 2;
    }
    return names.length === 0 ? undefined : { name: names.join('/'), rest: parts.slice(i) };
  }

  function startBuild(job: FakeJenkinsJob, parameters: Record<string, string>): number {
    const number = (job.builds[job.builds.length - 1]?.number ?? 0) + 1;
    job.builds.push({ number, building: true, result: null, parameters, timestamp: Date.now(), duration: 0 });
    queueId += 1;
    queue.set(queueId, { job: job.name, build: number });
    return queueId;
  }

  function handle(method: string, url: URL, req: IncomingMessage): { status: number; body?: unknown; headers?: Record<string, string> } {
    if (!url.pathname.startsWith(`${context}/`)) throw new HttpError(404, 'Not Found');
    const parts = url.pathname
      .slice(context.length)
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
    authenticate(req);
    if (parts.join('/') === 'crumbIssuer/api/json' && method === 'GET') {
      if (!crumbs) throw new HttpError(404, 'Not Found');
      const session = `node0${randomBytes(8).toString('hex')}`;
      const crumb = randomBytes(32).toString('hex');
      sessions.set(session, crumb);
      return {
        status: 200,
        body: { _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb, crumbRequestField: 'Jenkins-Crumb' },
        headers: { 'set-cookie': `JSESSIONID.${randomBytes(4).toString('hex')}=${session}; Path=/; HttpOnly` },
      };
    }
    if (parts[0] === 'queue' && parts[1] === 'item' && parts[3] === 'api' && parts[4] === 'json' && method === 'GET') {
      const item = queue.get(Number(parts[2]));
      if (!item) throw new HttpError(404, 'Not Found');
      const job = jobs.get(item.job)!;
      return {
        status: 200,
        body: {
          _class: 'hudson.model.Queue$LeftItem',
          id: Number(parts[2]),
          blocked: false,
          buildable: false,
          cancelled: false,
          executable: { _class: 'hudson.model.FreeStyleBuild', number: item.build, url: `${jobUrl(job.name)}${item.build}/` },
          task: { _class: 'hudson.model.FreeStyleProject', name: job.name.split('/').pop(), url: jobUrl(job.name) },
        },
      };
    }
    const parsed = parseJobPath(parts);
    const job = parsed ? jobs.get(parsed.name) : undefined;
    if (!parsed || !job) throw new HttpError(404, 'Not Found');
    const rest = parsed.rest;
    if (method === 'POST' || method === 'DELETE') checkCrumb(req);
    if (method === 'POST' && rest.length === 1 && rest[0] === 'build') {
      if (job.parameters) throw new HttpError(400, `${job.name} is parameterized`);
      return { status: 201, headers: { location: `${root}/queue/item/${startBuild(job, {})}/` } };
    }
    if (method === 'POST' && rest.length === 1 && rest[0] === 'buildWithParameters') {
      if (!job.parameters) throw new HttpError(400, `${job.name} is not parameterized`);
      const values = { ...job.parameters };
      for (const key of Object.keys(job.parameters)) {
        const given = url.searchParams.get(key);
        if (given !== null) values[key] = given;
      }
      return { status: 201, headers: { location: `${root}/queue/item/${startBuild(job, values)}/` } };
    }
    if (method === 'DELETE' && rest.length === 0) {
      jobs.delete(job.name);
      return { status: 204 };
    }
    if (method === 'POST' && rest.length === 1 && rest[0] === 'doDelete') {
      jobs.delete(job.name);
      return { status: 302, headers: { location: `${root}/` } };
    }
    if (method === 'GET' && rest.length === 3 && rest[1] === 'api' && rest[2] === 'json') {
      const build = rest[0] === 'lastBuild' ? job.builds[job.builds.length - 1] : job.builds.find((b) => String(b.number) === rest[0]);
      if (!build) throw new HttpError(404, 'Not Found');
      return { status: 200, body: buildJson(job, build) };
    }
    if (method === 'GET' && rest.length === 2 && rest[0] === 'api' && rest[1] === 'json') {
      return {
        status: 200,
        body: {
          _class: 'hudson.model.FreeStyleProject',
          name: job.name.split('/').pop(),
          fullName: job.name,
          url: jobUrl(job.name),
          buildable: true,
          builds: job.builds.map((b) => ({ number: b.number, url: `${jobUrl(job.name)}${b.number}/` })).reverse(),
        },
      };
    }
    throw new HttpError(method === 'GET' ? 404 : 405, method === 'GET' ? 'Not Found' : 'Method Not Allowed');
  }

  const server = createServer((req, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers });
      try {
        if (failure !== undefined && (failure.method === undefined || failure.method === req.method)) {
          const { status } = failure;
          failure = undefined;
          throw new HttpError(status, `injected failure ${status}`);
        }
        const out = handle(req.method ?? 'GET', url, req);
        const text = out.body === undefined ? '' : JSON.stringify(out.body);
        res.writeHead(out.status, {
          ...(out.body === undefined ? {} : { 'content-type': 'application/json;charset=utf-8' }),
          'x-jenkins': '2.479.1',
          ...out.headers,
        });
        res.end(text);
      } catch (error) {
        const e = error instanceof HttpError ? error : new HttpError(500, String(error));
        res.writeHead(e.status, { 'content-type': 'text/html;charset=utf-8', 'x-jenkins': '2.479.1', ...e.headers });
        res.end(`<html><head><title>Error ${e.status}</title></head><body><h2>HTTP ERROR ${e.status} ${e.message}</h2></body></html>`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${context}`;
  root = url;

  return {
    url,
    requests,
    addJob: (name, opts) => {
      jobs.set(name, { name, parameters: opts?.parameters, builds: [] });
    },
    job: (name) => jobs.get(name),
    finishBuild: (name, number, result, durationMs = 1234) => {
      const build = jobs.get(name)?.builds.find((b) => b.number === number);
      if (!build) throw new Error(`fake jenkins: no build ${name} #${number}`);
      Object.assign(build, { building: false, result, duration: durationMs });
    },
    failNext: (status, method) => {
      failure = { status, method };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
