/**
 * A FAKE GitLab server for tests. No GitLab can run on the test machine, so this stands in for
 * one on loopback (node:http, 127.0.0.1, random port). It keeps a few objects in memory and
 * speaks GitLab's REST JSON: the `/api/v4` URL layout with URL-encoded ids and paths
 * (`projects/group%2Fsub%2Fproject`), `PRIVATE-TOKEN` authentication, GitLab's status codes and
 * error bodies (`401 {"message":"401 Unauthorized"}`, `404 {"message":"404 Project Not Found"}`,
 * `400 {"error":"branch is missing"}`, `405 {"message":"405 Method Not Allowed"}`), and its
 * pagination headers (X-Total, X-Page, X-Per-Page, X-Total-Pages, X-Next-Page, Link). It is NOT
 * GitLab: fields are a small subset and permissions are all-or-nothing (one token).
 *
 * Covered:
 * - projects: list (search, page/per_page), get by id or full path, create, edit, delete (202),
 *   archive/unarchive, star/unstar.
 * - branches: list, get, create (ref must exist), delete (204).
 * - merge requests: list per project and globally (state filter), get, create, update, merge
 *   (`PUT .../merge`; 405 unless opened), approvals.
 * - issues: list per project and globally (state, labels), get, create (title required), update
 *   (`state_event: close|reopen`), notes list/create.
 * - pipelines: list, get, latest, create (`POST .../pipeline`, ref must exist), retry, cancel.
 * - jobs: per project, per pipeline, get, retry, cancel, play.
 * - users: `GET /user`, `GET /users` (username, search), `GET /users/:id`.
 * - repository files: raw content (`.../files/:path/raw?ref=`) and HEAD metadata (X-Gitlab-* headers).
 * - `POST /api/graphql`: answers `currentUser` and `project(fullPath:)` queries; other queries get
 *   GitLab's 200 with an `errors` array.
 * - `requests` records every request (method, raw path, query, JSON body) for assertions;
 *   `failNext(status)` makes the next request fail; `stallNext()` leaves it unanswered;
 *   `respondNext(status, body, headers)` scripts the next authenticated answer.
 * Not covered: everything else in the API (it answers 404 `{"error":"404 Not Found"}` as GitLab
 * does for an unknown route), permissions and roles, keyset pagination, rate limits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form GitLab objects

export interface RecordedRequest {
  readonly method: string;
  /** The raw path, still URL-encoded, e.g. `/api/v4/projects/group%2Fproject/repository/branches`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly privateToken: string | undefined;
}

export interface FakeGitlab {
  readonly baseUrl: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  failNext(status: number, count?: number): void;
  stallNext(): void;
  /** The next authenticated request gets exactly this answer (a redirect, a huge body, a hostile message). */
  respondNext(status: number, body: string | Buffer, headers?: Record<string, string>): void;
  /** Adds a project (with a `main` branch) and returns it. */
  addProject(fullPath: string): Obj;
  close(): Promise<void>;
}

export interface FakeGitlabOptions {
  readonly token: string;
  readonly username?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Obj,
  ) {
    super(String(status));
  }
}
const notFound = (what: string): HttpError => new HttpError(404, { message: `404 ${what} Not Found` });
const missing = (field: string): HttpError => new HttpError(400, { error: `${field} is missing` });

export async function startFakeGitlab(options: FakeGitlabOptions): Promise<FakeGitlab> {
  const now = (): string => new Date().toISOString();
  const me = {
    id: 1,
    username: options.username ?? 'root',
    name: 'Administrator',
    state: 'active',
    email: 'admin@example.com',
    web_url: 'http://gitlab.example/root',
  };
  const users: Obj[] = [me, { id: 2, username: 'alice', name: 'Alice', state: 'active', email: 'alice@example.com' }];
  const projects: Obj[] = [];
  const branches = new Map<number, Map<string, Obj>>();
  const mrs = new Map<number, Obj[]>();
  const issues = new Map<number, Obj[]>();
  const pipelines = new Map<number, Obj[]>();
  const jobs: Obj[] = [];
  const files = new Map<string, string>(); // `${projectId}\n${ref}\n${path}` -> content
  let nextId = 100;
  const requests: RecordedRequest[] = [];
  let failures: number[] = [];
  let stall = false;
  let scripted: { status: number; body: string | Buffer; headers: Record<string, string> } | undefined;
  let baseUrl = '';

  const commit = (message: string): Obj => ({
    id: `${(nextId++).toString(16).padStart(8, '0')}${'0'.repeat(32)}`,
    short_id: '',
    title: message,
    message,
    created_at: now(),
  });

  function addProject(fullPath: string): Obj {
    const id = nextId++;
    const parts = fullPath.split('/');
    const p: Obj = {
      id,
      name: parts.at(-1),
      path: parts.at(-1),
      path_with_namespace: fullPath,
      name_with_namespace: parts.join(' / '),
      default_branch: 'main',
      archived: false,
      star_count: 0,
      visibility: 'private',
      created_at: now(),
      web_url: `${baseUrl}/${fullPath}`,
    };
    projects.push(p);
    branches.set(
      id,
      new Map([['main', { name: 'main', merged: false, protected: true, default: true, commit: commit('Initial commit') }]]),
    );
    mrs.set(id, []);
    issues.set(id, []);
    pipelines.set(id, []);
    files.set(`${id}\nmain\nREADME.md`, '# hello\n');
    return p;
  }

  function project(idOrPath: string): Obj {
    const p = /^\d+$/.test(idOrPath)
      ? projects.find((x) => x.id === Number(idOrPath))
      : projects.find((x) => x.path_with_namespace === idOrPath);
    if (!p) throw notFound('Project');
    return p;
  }

  function paginate(res: ServerResponse, url: URL, items: Obj[]): Obj[] {
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 20) || 20, 1), 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const totalPages = Math.max(Math.ceil(items.length / perPage), 1);
    res.setHeader('x-total', String(items.length));
    res.setHeader('x-total-pages', String(totalPages));
    res.setHeader('x-per-page', String(perPage));
    res.setHeader('x-page', String(page));
    res.setHeader('x-next-page', page < totalPages ? String(page + 1) : '');
    res.setHeader('x-prev-page', page > 1 ? String(page - 1) : '');
    const link = (n: number, rel: string): string => {
      const u = new URL(url.toString());
      u.searchParams.set('page', String(n));
      u.searchParams.set('per_page', String(perPage));
      return `<${baseUrl}${u.pathname}${u.search}>; rel="${rel}"`;
    };
    const links = [page < totalPages ? link(page + 1, 'next') : '', link(1, 'first'), link(totalPages, 'last')].filter(Boolean);
    res.setHeader('link', links.join(', '));
    return items.slice((page - 1) * perPage, page * perPage);
  }

  function byIid(list: Obj[] | undefined, iid: string, what: string): Obj {
    const found = list?.find((x) => x.iid === Number(iid));
    if (!found) throw notFound(what);
    return found;
  }

  function newPipeline(p: Obj, ref: string, source = 'api'): Obj {
    const b = branches.get(p.id)!.get(ref);
    if (!b) throw new HttpError(400, { message: { base: ['Reference not found'] } });
    const list = pipelines.get(p.id)!;
    const pl: Obj = {
      id: nextId++,
      iid: list.length + 1,
      project_id: p.id,
      ref,
      sha: b.commit.id,
      status: 'pending',
      source,
      created_at: now(),
      updated_at: now(),
      web_url: `${p.web_url}/-/pipelines`,
    };
    list.push(pl);
    for (const name of ['build', 'test'])
      jobs.push({
        id: nextId++,
        name,
        stage: name,
        status: 'pending',
        ref,
        project_id: p.id,
        pipeline: { id: pl.id, project_id: p.id, ref, sha: pl.sha, status: pl.status },
        created_at: now(),
      });
    return pl;
  }

  function job(p: Obj, id: string): Obj {
    const j = jobs.find((x) => x.id === Number(id) && x.project_id === p.id);
    if (!j) throw notFound('Job');
    return j;
  }

  /** Routes one authenticated request; returns [status, body] or a raw [status, Buffer, headers]. */
  function route(method: string, seg: string[], url: URL, body: Obj): [number, unknown, Record<string, string>?] {
    const [a, b, c, d, e, f] = seg;
    const is = (m: string, n: number): boolean => method === m && seg.length === n;
    if (a === 'user' && is('GET', 1)) return [200, me];
    if (a === 'users') {
      if (is('GET', 1)) {
        const username = url.searchParams.get('username');
        const search = url.searchParams.get('search');
        return [
          200,
          users.filter(
            (u) => (!username || u.username === username) && (!search || u.username.includes(search) || u.name.includes(search)),
          ),
        ];
      }
      if (is('GET', 2)) {
        const u = users.find((x) => x.id === Number(b));
        if (!u) throw notFound('User');
        return [200, u];
      }
    }
    if (a === 'merge_requests' && is('GET', 1)) {
      const state = url.searchParams.get('state');
      return [200, [...mrs.values()].flat().filter((m) => !state || state === 'all' || m.state === state)];
    }
    if (a === 'issues' && is('GET', 1)) {
      const state = url.searchParams.get('state');
      return [200, [...issues.values()].flat().filter((i) => !state || state === 'all' || i.state === state)];
    }
    if (a !== 'projects') throw new HttpError(404, { error: '404 Not Found' });
    if (is('GET', 1)) {
      const search = url.searchParams.get('search');
      return [200, projects.filter((p) => !search || p.path_with_namespace.includes(search))];
    }
    if (is('POST', 1)) {
      if (!body.name && !body.path) throw new HttpError(400, { error: 'name, path are missing, at least one parameter must be provided' });
      const p = addProject(String(body.path ?? body.name));
      Object.assign(p, { name: body.name ?? p.name, description: body.description ?? null, default_branch: body.default_branch ?? 'main' });
      if (body.visibility) p.visibility = body.visibility;
      return [201, p];
    }
    const p = project(b!);
    if (is('GET', 2)) return [200, p];
    if (is('PUT', 2)) {
      for (const k of ['name', 'path', 'description', 'default_branch', 'visibility'])
        if (body[k] !== undefined && body[k] !== null) p[k] = body[k];
      return [200, p];
    }
    if (is('DELETE', 2)) {
      projects.splice(projects.indexOf(p), 1);
      return [202, { message: '202 Accepted' }];
    }
    if (method === 'POST' && seg.length === 3 && (c === 'archive' || c === 'unarchive')) {
      p.archived = c === 'archive';
      return [201, p];
    }
    if (method === 'POST' && seg.length === 3 && (c === 'star' || c === 'unstar')) {
      if (c === 'star' && p.starred) return [304, ''];
      p.starred = c === 'star';
      p.star_count = (p.star_count as number) + (c === 'star' ? 1 : -1);
      return [c === 'star' ? 201 : 201, p];
    }
    if (c === 'repository' && d === 'branches') {
      const map = branches.get(p.id)!;
      if (is('GET', 4)) {
        const search = url.searchParams.get('search');
        return [200, [...map.values()].filter((x) => !search || x.name.includes(search))];
      }
      if (is('POST', 4)) {
        if (!body.branch) throw missing('branch');
        if (!body.ref) throw missing('ref');
        if (map.has(body.branch)) throw new HttpError(400, { message: 'Branch already exists' });
        const from = map.get(body.ref);
        if (!from) throw new HttpError(400, { message: 'Invalid reference name: ' + String(body.ref) });
        const br = {
          name: body.branch,
          merged: false,
          protected: false,
          default: false,
          commit: from.commit,
          web_url: `${p.web_url}/-/tree/${body.branch}`,
        };
        map.set(body.branch, br);
        return [201, br];
      }
      const br = map.get(e!);
      if (!br) throw notFound('Branch');
      if (is('GET', 5)) return [200, br];
      if (is('DELETE', 5)) {
        map.delete(e!);
        return [204, ''];
      }
    }
    if (c === 'repository' && d === 'files' && e !== undefined) {
      const ref = url.searchParams.get('ref');
      if (!ref) throw missing('ref');
      const content = files.get(`${p.id}\n${ref}\n${e}`);
      if (content === undefined) throw notFound('File');
      if (method === 'GET' && seg.length === 6 && f === 'raw')
        return [200, Buffer.from(content), { 'content-type': 'text/plain; charset=utf-8' }];
      if (method === 'HEAD' && seg.length === 5) {
        const name = e.split('/').at(-1)!;
        return [
          200,
          Buffer.alloc(0),
          {
            'x-gitlab-file-name': name,
            'x-gitlab-file-path': e,
            'x-gitlab-size': String(Buffer.byteLength(content)),
            'x-gitlab-encoding': 'base64',
            'x-gitlab-ref': ref,
            'x-gitlab-blob-id': 'b10b',
            'x-gitlab-commit-id': 'c0ffee',
            'x-gitlab-last-commit-id': 'c0ffee',
            'x-gitlab-execute-filemode': 'false',
          },
        ];
      }
    }
    if (c === 'merge_requests') {
      const list = mrs.get(p.id)!;
      if (is('GET', 3)) {
        const state = url.searchParams.get('state');
        return [200, list.filter((m) => !state || state === 'all' || m.state === state)];
      }
      if (is('POST', 3)) {
        if (!body.source_branch) throw missing('source_branch');
        if (!body.target_branch) throw missing('target_branch');
        if (!body.title) throw missing('title');
        if (list.some((m) => m.state === 'opened' && m.source_branch === body.source_branch && m.target_branch === body.target_branch)) {
          throw new HttpError(409, { message: [`Another open merge request already exists for this source branch: !${list.length}`] });
        }
        const mr: Obj = {
          id: nextId++,
          iid: list.length + 1,
          project_id: p.id,
          title: body.title,
          description: body.description ?? null,
          state: 'opened',
          source_branch: body.source_branch,
          target_branch: body.target_branch,
          labels: body.labels ? String(body.labels).split(',') : [],
          author: me,
          created_at: now(),
          updated_at: now(),
          web_url: '',
        };
        mr.web_url = `${p.web_url}/-/merge_requests/${mr.iid}`;
        list.push(mr);
        return [201, mr];
      }
      const mr = byIid(list, d!, 'Merge Request');
      if (is('GET', 4)) return [200, mr];
      if (is('PUT', 4)) {
        for (const k of ['title', 'description', 'target_branch']) if (body[k] !== undefined) mr[k] = body[k];
        if (body.state_event === 'close') mr.state = 'closed';
        if (body.state_event === 'reopen') mr.state = 'opened';
        mr.updated_at = now();
        return [200, mr];
      }
      if (is('PUT', 5) && e === 'merge') {
        if (mr.state !== 'opened') throw new HttpError(405, { message: '405 Method Not Allowed' });
        mr.state = 'merged';
        mr.merged_by = me;
        mr.merged_at = now();
        return [200, mr];
      }
      if (is('GET', 5) && e === 'approvals')
        return [200, { id: mr.id, iid: mr.iid, project_id: p.id, approved: false, approvals_required: 0, approved_by: [] }];
    }
    if (c === 'issues') {
      const list = issues.get(p.id)!;
      if (is('GET', 3)) {
        const state = url.searchParams.get('state');
        const labels = url.searchParams.get('labels');
        return [
          200,
          list.filter(
            (i) => (!state || state === 'all' || i.state === state) && (!labels || labels.split(',').every((l) => i.labels.includes(l))),
          ),
        ];
      }
      if (is('POST', 3)) {
        if (!body.title) throw missing('title');
        const issue: Obj = {
          id: nextId++,
          iid: list.length + 1,
          project_id: p.id,
          title: body.title,
          description: body.description ?? null,
          state: 'opened',
          labels: body.labels ? String(body.labels).split(',') : [],
          author: me,
          notes: [],
          created_at: now(),
          updated_at: now(),
        };
        list.push(issue);
        return [201, strip(issue)];
      }
      const issue = byIid(list, d!, 'Issue');
      if (is('GET', 4)) return [200, strip(issue)];
      if (is('PUT', 4)) {
        for (const k of ['title', 'description']) if (body[k] !== undefined) issue[k] = body[k];
        if (body.state_event === 'close') issue.state = 'closed';
        if (body.state_event === 'reopen') issue.state = 'opened';
        return [200, strip(issue)];
      }
      if (e === 'notes' && is('GET', 5)) return [200, issue.notes];
      if (e === 'notes' && is('POST', 5)) {
        if (!body.body) throw missing('body');
        const note = { id: nextId++, body: body.body, author: me, noteable_type: 'Issue', noteable_iid: issue.iid, created_at: now() };
        issue.notes.push(note);
        return [201, note];
      }
    }
    if (c === 'pipeline' && is('POST', 3)) {
      if (!body.ref) throw missing('ref');
      return [201, newPipeline(p, String(body.ref))];
    }
    if (c === 'pipelines') {
      const list = pipelines.get(p.id)!;
      if (is('GET', 3)) {
        const status = url.searchParams.get('status');
        const ref = url.searchParams.get('ref');
        return [200, [...list].reverse().filter((x) => (!status || x.status === status) && (!ref || x.ref === ref))];
      }
      if (is('GET', 4) && d === 'latest') {
        const ref = url.searchParams.get('ref') ?? p.default_branch;
        const latest = [...list].reverse().find((x) => x.ref === ref);
        if (!latest) throw notFound('Pipeline');
        return [200, latest];
      }
      const pl = list.find((x) => x.id === Number(d));
      if (!pl) throw notFound('Pipeline');
      if (is('GET', 4)) return [200, pl];
      if (is('POST', 5) && (e === 'retry' || e === 'cancel')) {
        pl.status = e === 'retry' ? 'pending' : 'canceled';
        for (const j of jobs) if (j.pipeline.id === pl.id) j.status = pl.status;
        return [201, pl];
      }
      if (is('GET', 5) && e === 'jobs') return [200, jobs.filter((j) => j.pipeline.id === pl.id)];
    }
    if (c === 'jobs') {
      if (is('GET', 3)) {
        const scope = url.searchParams.getAll('scope[]');
        return [200, jobs.filter((j) => j.project_id === p.id && (scope.length === 0 || scope.includes(j.status)))];
      }
      const j = job(p, d!);
      if (is('GET', 4)) return [200, j];
      if (is('POST', 5) && (e === 'retry' || e === 'cancel' || e === 'play')) {
        if (e === 'play' && j.status !== 'manual') throw new HttpError(400, { message: '400 Bad request - Unplayable Job' });
        if (e === 'retry') {
          const copy = { ...j, id: nextId++, status: 'pending', created_at: now() };
          jobs.push(copy);
          return [201, copy];
        }
        j.status = e === 'cancel' ? 'canceled' : 'pending';
        return [201, j];
      }
    }
    throw new HttpError(404, { error: '404 Not Found' });
  }

  function strip(issue: Obj): Obj {
    const { notes: _notes, ...rest } = issue;
    return { ...rest, user_notes_count: issue.notes.length };
  }

  function graphql(body: Obj): unknown {
    const query = typeof body.query === 'string' ? body.query : '';
    if (query === '') return { errors: [{ message: 'No query string was present' }] };
    const data: Obj = {};
    if (/\bcurrentUser\b/.test(query)) data.currentUser = { username: me.username, name: me.name };
    const m = /\bproject\s*\(\s*fullPath\s*:\s*(?:"([^"]+)"|\$(\w+))/.exec(query);
    if (m) {
      const fullPath = m[1] ?? body.variables?.[m[2]!];
      const p = projects.find((x) => x.path_with_namespace === fullPath);
      data.project = p ? { id: `gid://gitlab/Project/${p.id}`, name: p.name, fullPath: p.path_with_namespace } : null;
    }
    if (Object.keys(data).length === 0)
      return { errors: [{ message: "Field 'unknown' doesn't exist on type 'Query'", locations: [{ line: 1, column: 3 }] }] };
    return { data };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = req.url ?? '/';
      const url = new URL(raw, 'http://fake');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Obj;
      try {
        body = text ? (JSON.parse(text) as Obj) : {};
      } catch {
        body = {};
      }
      const token = req.headers['private-token'];
      requests.push({
        method: req.method ?? 'GET',
        path: raw.split('?')[0]!,
        query: url.searchParams,
        body: text ? body : undefined,
        privateToken: typeof token === 'string' ? token : undefined,
      });
      if (stall) {
        stall = false;
        return; // never answered
      }
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
        if (Buffer.isBuffer(payload)) {
          res.writeHead(status).end(req.method === 'HEAD' ? undefined : payload);
          return;
        }
        if (status === 204 || payload === '') {
          res.writeHead(status).end();
          return;
        }
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      };
      const failure = failures.shift();
      if (failure !== undefined) {
        send(failure, { message: `${failure} Fake Failure` });
        return;
      }
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      if (token !== options.token && bearer !== options.token) {
        send(401, { message: '401 Unauthorized' });
        return;
      }
      if (scripted) {
        const next = scripted;
        scripted = undefined;
        for (const [k, v] of Object.entries(next.headers)) res.setHeader(k, v);
        res.writeHead(next.status).end(next.body);
        return;
      }
      try {
        if (url.pathname === '/api/graphql' && req.method === 'POST') {
          send(200, graphql(body));
          return;
        }
        const parts = raw.split('?')[0]!.split('/').slice(1);
        if (parts[0] !== 'api' || parts[1] !== 'v4') throw new HttpError(404, { error: '404 Not Found' });
        const seg = parts.slice(2).map((s) => decodeURIComponent(s));
        const [status, payload, headers] = route(req.method ?? 'GET', seg, url, body);
        if (Array.isArray(payload)) {
          send(status, paginate(res, url, payload as Obj[]), headers);
          return;
        }
        send(status, payload, headers);
        return;
      } catch (error) {
        if (error instanceof HttpError) {
          send(error.status, error.body);
          return;
        }
        send(500, { message: '500 Internal Server Error' });
        return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    port,
    requests,
    failNext: (status, count = 1) => {
      failures = [...failures, ...Array.from({ length: count }, () => status)];
    },
    stallNext: () => {
      stall = true;
    },
    respondNext: (status, body, headers = {}) => {
      scripted = { status, body, headers };
    },
    addProject,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
