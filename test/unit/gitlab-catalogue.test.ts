/**
 * The GitLab catalogue is data: every row must be well formed, every FQN unique and in the
 * registry, and the request planner must encode ids and inputs as go-gitlab does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GITLAB_ACTIONS, fqnOf, pathParams } from '../../src/actions/gitlab/catalogue.js';
import { planRequest, pathEscape } from '../../src/actions/gitlab/request-plan.js';
import { gitlabConnection } from '../../src/actions/gitlab/connection.js';
import { inputSchemaFor } from '../../src/actions/gitlab/bundle.js';
import { createActionRegistry } from '../../src/actions/registry.js';
import { ParError } from '../../src/errors/par-error.js';

const FAMILIES = [
  'branches',
  'commits',
  'customattributes',
  'deployments',
  'environments',
  'graphql',
  'groups',
  'issues',
  'jobs',
  'labels',
  'members',
  'mergerequests',
  'notes',
  'pipelines',
  'projects',
  'protectedbranches',
  'repositories',
  'repositoryfiles',
  'tags',
  'users',
];
const API = new URL('https://gitlab.example.com/api/v4/');
const spec = (fqn: string) => {
  const s = GITLAB_ACTIONS.find((a) => fqnOf(a) === fqn);
  assert.ok(s, fqn);
  return s;
};

describe('GitLab catalogue', () => {
  it('has 252 actions in the 20 vendor families, each FQN unique', () => {
    assert.equal(GITLAB_ACTIONS.length, 252);
    assert.deepEqual([...new Set(GITLAB_ACTIONS.map((a) => a.family))].sort(), FAMILIES);
    const fqns = GITLAB_ACTIONS.map(fqnOf);
    assert.equal(new Set(fqns).size, fqns.length);
    const perFamily = Object.fromEntries(FAMILIES.map((f) => [f, GITLAB_ACTIONS.filter((a) => a.family === f).length]));
    assert.deepEqual(perFamily, {
      branches: 5,
      commits: 13,
      customattributes: 12,
      deployments: 6,
      environments: 1,
      graphql: 1,
      groups: 5,
      issues: 21,
      jobs: 12,
      labels: 8,
      members: 1,
      mergerequests: 30,
      notes: 27,
      pipelines: 10,
      projects: 24,
      protectedbranches: 5,
      repositories: 9,
      repositoryfiles: 7,
      tags: 4,
      users: 51,
    });
  });

  it('every row is well formed', () => {
    for (const a of GITLAB_ACTIONS) {
      const fqn = fqnOf(a);
      assert.match(fqn, /^com\.datadoghq\.gitlab\.[a-z]+\.[a-z][A-Za-z]+$/, fqn);
      assert.ok(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(a.method), fqn);
      assert.ok(!a.path.startsWith('/') && !a.path.endsWith('/') && !a.path.includes('//'), `${fqn}: ${a.path}`);
      assert.match(a.path.replace(/\{[a-z_]+\}/g, 'X'), /^(\.\.\/)?[a-z_]+(\/[A-Za-z_]+)*$/, `${fqn}: ${a.path}`);
      const params = pathParams(a.path);
      assert.equal(new Set(params).size, params.length, `${fqn}: a placeholder twice`);
      assert.match(a.output, /^([a-z]+(_[a-z0-9]+)*)?$/, fqn);
      if (a.method === 'GET' || a.method === 'HEAD') assert.notEqual(a.output, '', `${fqn}: a read with no output`);
      // The input schema requires each placeholder and passes the other inputs through.
      const schema = inputSchemaFor(a);
      if (params.length > 0) assert.equal(schema.safeParse({}).success, false, fqn);
      const ok = Object.fromEntries(params.map((p) => [p, p.endsWith('_id') ? 7 : 'x']));
      const extra = a.special === 'graphql' ? { query: '{ currentUser { username } }' } : {};
      assert.equal(schema.safeParse({ ...ok, ...extra, page: 2 }).success, true, fqn);
    }
  });

  it('registers every action, testConnection included, in the worker registry', async () => {
    const registry = createActionRegistry();
    try {
      for (const a of GITLAB_ACTIONS) assert.ok(registry.get(fqnOf(a)), fqnOf(a));
      assert.ok(registry.get('com.datadoghq.gitlab.users.testConnection'));
      assert.ok(registry.get('com.datadoghq.gitlab.branches.createBranch'));
    } finally {
      await registry.close();
    }
  });
});

describe('GitLab request planning', () => {
  it('URL-encodes path ids as gitlab.PathEscape does', () => {
    assert.equal(pathEscape('group/sub/project'), 'group%2Fsub%2Fproject');
    assert.equal(pathEscape('docs/read.me'), 'docs%2Fread%2Eme');
    assert.equal(pathEscape(42), '42');
    const plan = planRequest(
      spec('com.datadoghq.gitlab.branches.getBranch'),
      { project_id: 'group/sub/project', branch: 'feature/x' },
      API,
    );
    assert.equal(plan.url.href, 'https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproject/repository/branches/feature%2Fx');
    assert.equal(plan.body, undefined);
  });

  it('refuses dot segments and missing placeholders', () => {
    for (const bad of [
      { project_id: '..', branch: 'x' },
      { project_id: '.', branch: 'x' },
      { project_id: 'p' },
      { project_id: '', branch: 'x' },
    ]) {
      assert.throws(
        () => planRequest(spec('com.datadoghq.gitlab.branches.getBranch'), bad, API),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_INPUT_INVALID',
      );
    }
    // Escaped, `..` inside a value is harmless.
    const plan = planRequest(spec('com.datadoghq.gitlab.branches.getBranch'), { project_id: 'a', branch: '../../../users' }, API);
    assert.ok(plan.url.pathname.startsWith('/api/v4/projects/a/repository/branches/'), plan.url.pathname);
  });

  it('sends GET options as the query (arrays as key[]) and others as a JSON body', () => {
    const list = planRequest(
      spec('com.datadoghq.gitlab.jobs.listProjectJobs'),
      { project_id: 5, scope: ['failed', 'success'], page: 2, per_page: 50, include_retried: true },
      API,
    );
    assert.equal(list.url.search, '?scope%5B%5D=failed&scope%5B%5D=success&page=2&per_page=50&include_retried=true');
    const create = planRequest(
      spec('com.datadoghq.gitlab.mergerequests.createMergeRequest'),
      { project_id: 5, title: 't', source_branch: 'a', target_branch: 'b' },
      API,
    );
    assert.equal(create.method, 'POST');
    assert.deepEqual(JSON.parse(create.body!), { title: 't', source_branch: 'a', target_branch: 'b' });
    const del = planRequest(spec('com.datadoghq.gitlab.projects.deleteProject'), { project_id: 5 }, API);
    assert.equal(del.body, undefined);
  });

  it('shapes the hand-written ones as the vendor does', () => {
    const gql = planRequest(
      spec('com.datadoghq.gitlab.graphql.graphql'),
      { query: 'q', variables: { a: 1 } },
      new URL('https://h.example/gitlab/api/v4/'),
    );
    assert.equal(gql.url.href, 'https://h.example/api/graphql');
    assert.deepEqual(JSON.parse(gql.body!), { query: 'q', variables: { a: 1 } });
    const proj = planRequest(
      spec('com.datadoghq.gitlab.projects.createProject'),
      { name: 'n', options: { visibility: 'internal', name: 'ignored' } },
      API,
    );
    assert.deepEqual(JSON.parse(proj.body!), { visibility: 'internal', name: 'n' });
    const archive = planRequest(
      spec('com.datadoghq.gitlab.repositories.getFileArchive'),
      { project_id: 1, format: 'zip', sha: 'main' },
      API,
    );
    assert.equal(archive.url.href, 'https://gitlab.example.com/api/v4/projects/1/repository/archive.zip?sha=main');
    const raw = planRequest(
      spec('com.datadoghq.gitlab.repositoryfiles.getRawFile'),
      { project_id: 1, file_path: 'src/a.ts', ref: 'main', encoding: 'base64' },
      API,
    );
    assert.equal(raw.url.href, 'https://gitlab.example.com/api/v4/projects/1/repository/files/src%2Fa%2Ets/raw?ref=main');
  });
});

describe('GitLab connection', () => {
  const creds = (tokens: Record<string, string>) => ({ authType: 'Token Auth' as const, tokens });
  it('defaults to gitlab.com and appends /api/v4 as go-gitlab does', () => {
    assert.equal(gitlabConnection(creds({ gitlabApiToken: 't' })).apiBase.href, 'https://gitlab.com/api/v4/');
    assert.equal(
      gitlabConnection(creds({ gitlabApiToken: 't', baseURL: 'https://git.corp/gitlab' })).apiBase.href,
      'https://git.corp/gitlab/api/v4/',
    );
    assert.equal(
      gitlabConnection(creds({ gitlabApiToken: 't', baseURL: 'https://git.corp/api/v4/' })).apiBase.href,
      'https://git.corp/api/v4/',
    );
  });
  it('refuses missing tokens, other auth types and non-http base URLs without quoting the token', () => {
    const bad = [
      undefined,
      { authType: 'Basic Auth' as const, username: 'u', password: 'p' },
      creds({ baseURL: 'https://x' }),
      creds({ gitlabApiToken: 'SEKRET', baseURL: 'file:///etc/passwd' }),
      creds({ gitlabApiToken: 'SEKRET', baseURL: 'not a url' }),
    ];
    for (const c of bad) {
      assert.throws(
        () => gitlabConnection(c),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_GITLAB_CREDENTIALS_INVALID' && !e.message.includes('SEKRET'),
      );
    }
  });
});
