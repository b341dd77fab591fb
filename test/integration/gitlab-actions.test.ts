/**
 * The GitLab actions, run from the worker's registry (real bundles, the HTTP bundle's policy
 * Agent) against the FAKE GitLab server: per family, the request GitLab receives (method, raw
 * path, query, body, PRIVATE-TOKEN) and the vendor-shaped output; GitLab's error statuses mapped
 * to their codes; the network policy applied to GitLab requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionContext } from '../../src/actions/action.js';
import { createActionRegistry, type ActionRegistry } from '../../src/actions/registry.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { ParError } from '../../src/errors/par-error.js';
import { startFakeGitlab, type FakeGitlab } from '../fakes/gitlab-server.js';
import { waitUntil } from '../helpers/wait.js';

const TOKEN = 'glpat-fake-token-4f9a';
const logger = createRootLogger({ process: 'test', level: 'silent' });

describe('GitLab actions against the fake GitLab', () => {
  let gl: FakeGitlab;
  let registry: ActionRegistry;
  const ctx = (tokens: Record<string, string> = { gitlabApiToken: TOKEN, baseURL: gl.baseUrl }): ActionContext => ({
    signal: new AbortController().signal,
    credentials: { authType: 'Token Auth', tokens },
    configDir: '.',
    logger,
    limits: { httpMaxResponseBytes: 1024 * 1024 },
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function run(name: string, inputs: Record<string, unknown>, c: ActionContext = ctx()): Promise<Record<string, any>> {
    const action = registry.get(`com.datadoghq.gitlab.${name}`);
    assert.ok(action, name);
    return (await action.run(action.inputSchema.parse(inputs), c)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  }
  async function fails(name: string, inputs: Record<string, unknown>, code: string, c?: ActionContext): Promise<ParError> {
    const error = await run(name, inputs, c).then(
      () => assert.fail(`${name} succeeded`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ParError, String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes(TOKEN));
    return error;
  }
  const last = () => gl.requests.at(-1)!;

  before(async () => {
    gl = await startFakeGitlab({ token: TOKEN });
    gl.addProject('group/sub/project');
    registry = createActionRegistry();
  });
  after(async () => {
    await registry.close();
    await gl.close();
  });

  it('users: testConnection and currentUser GET /user with PRIVATE-TOKEN', async () => {
    const out = await run('users.testConnection', {});
    assert.equal(out['user'].username, 'root');
    assert.equal(last().method, 'GET');
    assert.equal(last().path, '/api/v4/user');
    assert.equal(last().privateToken, TOKEN);
    assert.deepEqual(Object.keys(await run('users.currentUser', {})), ['user']);
    const users = await run('users.listUsers', { username: 'alice' });
    assert.deepEqual(
      users['users'].map((u: { username: string }) => u.username),
      ['alice'],
    );
    assert.equal(last().query.get('username'), 'alice');
    assert.equal((await run('users.getUser', { user_id: 2 }))['user'].name, 'Alice');
    assert.equal(last().path, '/api/v4/users/2');
  });

  it('projects: get by URL-encoded full path, list with pagination inputs, create, edit, archive', async () => {
    const got = await run('projects.getProject', { project_id: 'group/sub/project' });
    assert.equal(got['project'].path_with_namespace, 'group/sub/project');
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject');
    await run('projects.listProjects', { search: 'sub', per_page: 1, page: 1 });
    assert.equal(last().query.toString(), 'search=sub&per_page=1&page=1');
    const created = await run('projects.createProject', { name: 'newproj', description: 'd', options: { visibility: 'internal' } });
    assert.equal(created['project'].visibility, 'internal');
    assert.equal(last().method, 'POST');
    assert.deepEqual(last().body, { visibility: 'internal', name: 'newproj', description: 'd' });
    const edited = await run('projects.editProject', { project_id: created['project'].id, description: 'e' });
    assert.equal(edited['project'].description, 'e');
    assert.equal(last().method, 'PUT');
    assert.equal((await run('projects.archiveProject', { project_id: created['project'].id }))['project'].archived, true);
    assert.deepEqual(await run('projects.deleteProject', { project_id: created['project'].id }), {});
    assert.equal(last().method, 'DELETE');
  });

  it('branches: create, get (slash in the name encoded), list, delete', async () => {
    const out = await run('branches.createBranch', { project_id: 'group/sub/project', branch: 'feature/x', ref: 'main' });
    assert.equal(out['branch'].name, 'feature/x');
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject/repository/branches');
    assert.deepEqual(last().body, { branch: 'feature/x', ref: 'main' });
    assert.equal((await run('branches.getBranch', { project_id: 'group/sub/project', branch: 'feature/x' }))['branch'].name, 'feature/x');
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject/repository/branches/feature%2Fx');
    const list = await run('branches.listBranches', { project_id: 'group/sub/project', search: 'feat' });
    assert.deepEqual(
      list['branches'].map((b: { name: string }) => b.name),
      ['feature/x'],
    );
    assert.equal(last().query.get('search'), 'feat');
    assert.deepEqual(await run('branches.deleteBranch', { project_id: 'group/sub/project', branch: 'feature/x' }), {});
    assert.equal(last().method, 'DELETE');
    await fails('branches.getBranch', { project_id: 'group/sub/project', branch: 'feature/x' }, 'PAR_ERR_GITLAB_NOT_FOUND');
    const dup = await fails(
      'branches.createBranch',
      { project_id: 'group/sub/project', branch: 'main', ref: 'main' },
      'PAR_ERR_GITLAB_REJECTED',
    );
    assert.match(dup.message, /400 Branch already exists/);
    await fails('branches.createBranch', { project_id: 'group/sub/project', ref: 'main' }, 'PAR_ERR_GITLAB_REJECTED');
  });

  it('mergerequests: create, get, update, accept, list, approvals; 405 when not mergeable; 409 duplicate', async () => {
    await run('branches.createBranch', { project_id: 'group/sub/project', branch: 'mr-src', ref: 'main' });
    const created = await run('mergerequests.createMergeRequest', {
      project_id: 'group/sub/project',
      source_branch: 'mr-src',
      target_branch: 'main',
      title: 'MR one',
    });
    const iid = created['merge_request'].iid as number;
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject/merge_requests');
    assert.deepEqual(last().body, { source_branch: 'mr-src', target_branch: 'main', title: 'MR one' });
    await fails(
      'mergerequests.createMergeRequest',
      { project_id: 'group/sub/project', source_branch: 'mr-src', target_branch: 'main', title: 'again' },
      'PAR_ERR_GITLAB_REJECTED',
    );
    assert.equal(
      (await run('mergerequests.getMergeRequest', { project_id: 'group/sub/project', merge_request_iid: iid }))['merge_request'].title,
      'MR one',
    );
    assert.equal(last().path, `/api/v4/projects/group%2Fsub%2Fproject/merge_requests/${iid}`);
    assert.equal(
      (await run('mergerequests.updateMergeRequest', { project_id: 'group/sub/project', merge_request_iid: iid, title: 'MR 1' }))[
        'merge_request'
      ].title,
      'MR 1',
    );
    assert.equal(last().method, 'PUT');
    assert.deepEqual(last().body, { title: 'MR 1' });
    assert.equal(
      (await run('mergerequests.getMergeRequestApprovals', { project_id: 'group/sub/project', merge_request_iid: iid }))[
        'merge_request_approvals'
      ].approved,
      false,
    );
    const merged = await run('mergerequests.acceptMergeRequest', { project_id: 'group/sub/project', merge_request_iid: iid, squash: true });
    assert.equal(merged['merge_request'].state, 'merged');
    assert.equal(last().method, 'PUT');
    assert.equal(last().path, `/api/v4/projects/group%2Fsub%2Fproject/merge_requests/${iid}/merge`);
    assert.deepEqual(last().body, { squash: true });
    await fails('mergerequests.acceptMergeRequest', { project_id: 'group/sub/project', merge_request_iid: iid }, 'PAR_ERR_GITLAB_REJECTED');
    const listed = await run('mergerequests.listProjectMergeRequests', { project_id: 'group/sub/project', state: 'merged' });
    assert.equal(listed['merge_requests'].length, 1);
    assert.equal((await run('mergerequests.listMergeRequests', { state: 'all' }))['merge_requests'].length, 1);
    assert.equal(last().path, '/api/v4/merge_requests');
  });

  it('issues and notes: create, get, update, list with labels, notes', async () => {
    const created = await run('issues.createIssue', { project_id: 'group/sub/project', title: 'Bug', labels: 'bug,p1' });
    const iid = created['issue'].iid as number;
    assert.deepEqual(last().body, { title: 'Bug', labels: 'bug,p1' });
    await fails('issues.createIssue', { project_id: 'group/sub/project' }, 'PAR_ERR_GITLAB_REJECTED');
    assert.equal((await run('issues.getIssue', { project_id: 'group/sub/project', issue_iid: iid }))['issue'].title, 'Bug');
    assert.equal(
      (await run('issues.updateIssue', { project_id: 'group/sub/project', issue_iid: iid, state_event: 'close' }))['issue'].state,
      'closed',
    );
    const listed = await run('issues.listProjectIssues', { project_id: 'group/sub/project', labels: 'bug', state: 'closed' });
    assert.equal(listed['issues'].length, 1);
    assert.equal(last().query.get('labels'), 'bug');
    assert.equal((await run('issues.listIssues', { state: 'opened' }))['issues'].length, 0);
    await fails('issues.getIssue', { project_id: 'group/sub/project', issue_iid: 999 }, 'PAR_ERR_GITLAB_NOT_FOUND');
    const note = await run('notes.createIssueNote', { project_id: 'group/sub/project', issue_iid: iid, body: 'seen' });
    assert.equal(note['note'].body, 'seen');
    assert.equal(last().path, `/api/v4/projects/group%2Fsub%2Fproject/issues/${iid}/notes`);
    assert.equal((await run('notes.listIssueNotes', { project_id: 'group/sub/project', issue_iid: iid }))['notes'].length, 1);
  });

  it('pipelines and jobs: create, get, latest, list, jobs by pipeline, retry, cancel; scope[] query', async () => {
    const created = await run('pipelines.createPipeline', { project_id: 'group/sub/project', ref: 'main' });
    const id = created['pipeline'].id as number;
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject/pipeline');
    assert.deepEqual(last().body, { ref: 'main' });
    await fails('pipelines.createPipeline', { project_id: 'group/sub/project', ref: 'nope' }, 'PAR_ERR_GITLAB_REJECTED');
    assert.equal((await run('pipelines.getPipeline', { project_id: 'group/sub/project', pipeline_id: id }))['pipeline'].id, id);
    assert.equal((await run('pipelines.getLatestPipeline', { project_id: 'group/sub/project', ref: 'main' }))['pipeline'].id, id);
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject/pipelines/latest');
    assert.equal(
      (await run('pipelines.listProjectPipelines', { project_id: 'group/sub/project', status: 'pending' }))['pipelines'].length,
      1,
    );
    const jobs = await run('jobs.listPipelineJobs', { project_id: 'group/sub/project', pipeline_id: id });
    assert.deepEqual(
      jobs['jobs'].map((j: { name: string }) => j.name),
      ['build', 'test'],
    );
    const jobId = jobs['jobs'][0].id as number;
    assert.equal(
      (await run('pipelines.cancelPipelineBuild', { project_id: 'group/sub/project', pipeline_id: id }))['pipeline'].status,
      'canceled',
    );
    assert.equal(last().method, 'POST');
    assert.equal(last().body, undefined);
    const scoped = await run('jobs.listProjectJobs', { project_id: 'group/sub/project', scope: ['canceled'] });
    assert.equal(scoped['jobs'].length, 2);
    assert.deepEqual(last().query.getAll('scope[]'), ['canceled']);
    assert.equal((await run('jobs.getJob', { project_id: 'group/sub/project', job_id: jobId }))['job'].status, 'canceled');
    assert.equal((await run('jobs.retryJob', { project_id: 'group/sub/project', job_id: jobId }))['job'].status, 'pending');
    assert.equal(
      (await run('pipelines.retryPipelineBuild', { project_id: 'group/sub/project', pipeline_id: id }))['pipeline'].status,
      'pending',
    );
    await fails('jobs.playJob', { project_id: 'group/sub/project', job_id: jobId }, 'PAR_ERR_GITLAB_REJECTED');
  });

  it('repositoryfiles: raw file (path encoded, utf-8 or base64) and HEAD metadata', async () => {
    const raw = await run('repositoryfiles.getRawFile', { project_id: 'group/sub/project', file_path: 'README.md', ref: 'main' });
    assert.deepEqual(raw, { content: '# hello\n' });
    assert.equal(last().path, '/api/v4/projects/group%2Fsub%2Fproject/repository/files/README%2Emd/raw');
    assert.equal(last().query.toString(), 'ref=main');
    assert.deepEqual(
      await run('repositoryfiles.getRawFile', { project_id: 'group/sub/project', file_path: 'README.md', ref: 'main', encoding: 'base64' }),
      { content: Buffer.from('# hello\n').toString('base64') },
    );
    const meta = await run('repositoryfiles.getFileMetaData', { project_id: 'group/sub/project', file_path: 'README.md', ref: 'main' });
    assert.equal(last().method, 'HEAD');
    assert.deepEqual(meta['file'], {
      file_name: 'README.md',
      file_path: 'README.md',
      size: 8,
      encoding: 'base64',
      ref: 'main',
      blob_id: 'b10b',
      commit_id: 'c0ffee',
      last_commit_id: 'c0ffee',
      execute_filemode: false,
    });
    await fails(
      'repositoryfiles.getRawFile',
      { project_id: 'group/sub/project', file_path: 'nope.txt', ref: 'main' },
      'PAR_ERR_GITLAB_NOT_FOUND',
    );
  });

  it('graphql: POST /api/graphql, the answer under result (errors included, as GitLab answers 200)', async () => {
    const out = await run('graphql.graphql', {
      query: 'query($p: ID!) { currentUser { username } project(fullPath: $p) { name } }',
      variables: { p: 'group/sub/project' },
    });
    assert.deepEqual(out['result'].data.currentUser, { username: 'root', name: 'Administrator' });
    assert.equal(out['result'].data.project.fullPath, 'group/sub/project');
    assert.deepEqual(last().body, {
      query: 'query($p: ID!) { currentUser { username } project(fullPath: $p) { name } }',
      variables: { p: 'group/sub/project' },
    });
    assert.equal(last().path, '/api/graphql');
    assert.equal(last().privateToken, TOKEN);
    const bad = await run('graphql.graphql', { query: '{ unknown }' });
    assert.ok(Array.isArray(bad['result'].errors));
  });

  it('errors: 401 with a wrong token, 404 project, 429/5xx retryable, missing credentials refused before sending', async () => {
    const e401 = await fails(
      'users.testConnection',
      {},
      'PAR_ERR_GITLAB_UNAUTHORIZED',
      ctx({ gitlabApiToken: 'wrong', baseURL: gl.baseUrl }),
    );
    assert.match(e401.message, /401 401 Unauthorized/);
    const e404 = await fails('projects.getProject', { project_id: 'no/such' }, 'PAR_ERR_GITLAB_NOT_FOUND');
    assert.match(e404.message, /404 Project Not Found/);
    assert.equal(e404.retryable, false);
    gl.failNext(503);
    assert.equal((await fails('projects.getProject', { project_id: 1 }, 'PAR_ERR_GITLAB_STATUS_RETRYABLE')).retryable, true);
    gl.failNext(429);
    await fails('projects.getProject', { project_id: 1 }, 'PAR_ERR_GITLAB_STATUS_RETRYABLE');
    const before = gl.requests.length;
    await fails('users.testConnection', {}, 'PAR_ERR_GITLAB_CREDENTIALS_INVALID', ctx({ baseURL: gl.baseUrl }));
    assert.equal(gl.requests.length, before, 'nothing sent without a token');
  });

  it('cancellation: an unanswered request stops when the task signal aborts', async () => {
    gl.stallNext();
    const controller = new AbortController();
    const c = { ...ctx(), signal: controller.signal };
    const before = gl.requests.length;
    const pending = run('users.currentUser', {}, c);
    // Abort once the request is in flight (the fake holds it unanswered), not after a guessed delay.
    await waitUntil(() => (gl.requests.length > before ? true : undefined), 5_000, 'the request to reach GitLab');
    controller.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_TASK_CANCELLED');
  });

  it('response cap: a larger answer fails with PAR_ERR_GITLAB_RESPONSE_TOO_LARGE', async () => {
    await fails('users.currentUser', {}, 'PAR_ERR_GITLAB_RESPONSE_TOO_LARGE', { ...ctx(), limits: { httpMaxResponseBytes: 16 } });
  });
});

describe('GitLab actions obey the HTTP network policy', () => {
  it('a metadata address or a host outside the allowlist is refused before any socket opens', async () => {
    const registry = createActionRegistry({ http: { hostAllowlist: ['gitlab.allowed.example'] } });
    const open = createActionRegistry();
    try {
      const c = (baseURL: string): ActionContext => ({
        signal: new AbortController().signal,
        credentials: { authType: 'Token Auth', tokens: { gitlabApiToken: TOKEN, baseURL } },
        configDir: '.',
        logger,
        limits: { httpMaxResponseBytes: 1024 },
      });
      const action = open.get('com.datadoghq.gitlab.users.testConnection')!;
      await assert.rejects(
        action.run({}, c('http://169.254.169.254')),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_ADDRESS_BLOCKED',
      );
      await assert.rejects(
        action.run({}, c('http://[::ffff:169.254.169.254]:80')),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_ADDRESS_BLOCKED',
      );
      const limited = registry.get('com.datadoghq.gitlab.users.testConnection')!;
      await assert.rejects(
        limited.run({}, c('http://127.0.0.1:9')),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_HOST_NOT_ALLOWED',
      );
    } finally {
      await registry.close();
      await open.close();
    }
  });
});
