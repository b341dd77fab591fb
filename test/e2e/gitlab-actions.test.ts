/**
 * com.datadoghq.gitlab.* end to end: real control plane, runner and worker processes, the
 * vendor's GitLab credential file (`gitlabApiToken`, `baseURL`) only in the runner's config dir,
 * and the FAKE GitLab server (test/fakes/gitlab-server.ts) on loopback speaking GitLab's REST
 * JSON. A handful of families plus users.testConnection; the token never leaves the runner.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeGitlab, type FakeGitlab } from '../fakes/gitlab-server.js';
import { assertNothingLeaked } from '../security/exposure.js';

const TOKEN = 'glpat-e2e-7c1d0b9a55';

describe('gitlab actions end to end', () => {
  let system: System;
  let gl: FakeGitlab;
  let connectionId: string;
  let wrongTokenConnection: string;

  async function runTask(action: string, inputs: Record<string, unknown>, connection = connectionId) {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.gitlab.${action}`,
      connectionId: connection,
      inputs,
      timeoutMs: 15_000,
    });
    return system.api.waitForTask(task.id, 30_000);
  }

  before(async () => {
    gl = await startFakeGitlab({ token: TOKEN });
    gl.addProject('platform/api');
    system = await startSystem({
      allowlist: [
        'com.datadoghq.gitlab.users.*',
        'com.datadoghq.gitlab.projects.*',
        'com.datadoghq.gitlab.branches.*',
        'com.datadoghq.gitlab.mergerequests.*',
        'com.datadoghq.gitlab.pipelines.*',
        'com.datadoghq.gitlab.graphql.graphql',
      ].join(','),
    });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    // The vendor's documented file (test/fixtures/vendor-credentials/gitlab_token.json) with real values.
    const file = (token: string) =>
      JSON.stringify({
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'gitlabApiToken', tokenValue: token },
          { tokenName: 'baseURL', tokenValue: gl.baseUrl },
        ],
      });
    await writeFile(join(system.configDir, 'credentials', 'gitlab_token.json'), file(TOKEN));
    await writeFile(join(system.configDir, 'credentials', 'gitlab_wrong.json'), file('glpat-wrong'));
    connectionId = await system.createConnection({
      integration: 'gitlab',
      name: 'gitlab',
      credentialPath: 'credentials/gitlab_token.json',
    });
    wrongTokenConnection = await system.createConnection({
      integration: 'gitlab',
      name: 'gitlab-wrong',
      credentialPath: 'credentials/gitlab_wrong.json',
    });
  });

  after(async () => {
    await system.stop();
    await gl.close();
  });

  test('users.testConnection returns the current user, as the vendor does', async () => {
    const done = await runTask('users.testConnection', {});
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal((done.outcome?.output as { user: { username: string } }).user.username, 'root');
    assert.equal(gl.requests.at(-1)?.path, '/api/v4/user');
    assert.equal(gl.requests.at(-1)?.privateToken, TOKEN);
  });

  test('a wrong token fails with PAR_ERR_GITLAB_UNAUTHORIZED, not retried', async () => {
    const before = gl.requests.length;
    const done = await runTask('users.testConnection', {}, wrongTokenConnection);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_GITLAB_UNAUTHORIZED');
    assert.equal(gl.requests.length, before + 1);
  });

  test('projects, branches, merge requests: create a branch, open and merge an MR', async () => {
    const project = await runTask('projects.getProject', { project_id: 'platform/api' });
    assert.equal(project.state, 'succeeded', JSON.stringify(project.outcome));
    assert.equal(gl.requests.at(-1)?.path, '/api/v4/projects/platform%2Fapi');
    // The baseURL is an address, not a secret: GitLab's web_url fields come back as GitLab wrote them.
    assert.equal((project.outcome?.output as { project: { web_url: string } }).project.web_url, `${gl.baseUrl}/platform/api`);
    const branch = await runTask('branches.createBranch', { project_id: 'platform/api', branch: 'fix/e2e', ref: 'main' });
    assert.equal(branch.state, 'succeeded', JSON.stringify(branch.outcome));
    assert.deepEqual(gl.requests.at(-1)?.body, { branch: 'fix/e2e', ref: 'main' });
    const mr = await runTask('mergerequests.createMergeRequest', {
      project_id: 'platform/api',
      source_branch: 'fix/e2e',
      target_branch: 'main',
      title: 'Fix',
    });
    assert.equal(mr.state, 'succeeded', JSON.stringify(mr.outcome));
    const iid = (mr.outcome?.output as { merge_request: { iid: number } }).merge_request.iid;
    const merged = await runTask('mergerequests.acceptMergeRequest', { project_id: 'platform/api', merge_request_iid: iid });
    assert.equal((merged.outcome?.output as { merge_request: { state: string } }).merge_request.state, 'merged');
    assert.equal(gl.requests.at(-1)?.method, 'PUT');
    const missing = await runTask('projects.getProject', { project_id: 'platform/nope' });
    assert.equal(missing.state, 'failed');
    assert.equal(missing.outcome?.error?.code, 'PAR_ERR_GITLAB_NOT_FOUND');
    assert.match(missing.outcome.error.message, /404 Project Not Found/);
  });

  test('pipelines and graphql', async () => {
    const created = await runTask('pipelines.createPipeline', { project_id: 'platform/api', ref: 'main' });
    assert.equal(created.state, 'succeeded', JSON.stringify(created.outcome));
    const list = await runTask('pipelines.listProjectPipelines', { project_id: 'platform/api', per_page: 5 });
    assert.equal((list.outcome?.output as { pipelines: unknown[] }).pipelines.length, 1);
    assert.equal(gl.requests.at(-1)?.query.get('per_page'), '5');
    const gql = await runTask('graphql.graphql', { query: '{ currentUser { username } }' });
    assert.deepEqual(gql.outcome?.output, { result: { data: { currentUser: { username: 'root', name: 'Administrator' } } } });
  });

  test('an action outside the allowlist is refused and never reaches GitLab; no token anywhere', async () => {
    const before = gl.requests.length;
    const done = await runTask('jobs.listProjectJobs', { project_id: 'platform/api' });
    assert.equal(done.state, 'failed');
    assert.equal(gl.requests.length, before);
    await assertNothingLeaked(system, [TOKEN]);
  });
});
