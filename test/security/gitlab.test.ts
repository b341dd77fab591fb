/**
 * Hostile corpus, family "GitLab" (issue 13 + issue 7), through the real processes against the
 * FAKE GitLab (test/fakes/gitlab-server.ts), with a second loopback server (`evil`) standing for
 * an attacker. Each case asserts the error code and what GitLab and `evil` saw; the file ends
 * with the shared no-leak (results, logs, Redis) and health checks. Address-policy cases use IP
 * literals, decided before any socket opens: no packet leaves loopback.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { startFakeGitlab, type FakeGitlab } from '../fakes/gitlab-server.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const TOKEN = 'glpat-corpus-3e8b1f6d2a9c';
const SECRETS = secretForms(TOKEN);
const CAP = 64 * 1024;

describe('security corpus: GitLab actions', () => {
  let system: System;
  let gl: FakeGitlab;
  let evil: TargetServer;
  const conns: Record<string, string> = {};

  before(async () => {
    gl = await startFakeGitlab({ token: TOKEN });
    gl.addProject('team/app');
    evil = await startTargetServer();
    evil.route('/api/v4/user', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"id":666}');
    });
    system = await startSystem({
      allowlist:
        'com.datadoghq.gitlab.users.*,com.datadoghq.gitlab.projects.*,com.datadoghq.gitlab.branches.*,com.datadoghq.gitlab.repositoryfiles.*,com.datadoghq.gitlab.graphql.graphql',
      workerEnv: { PAR_HTTP_MAX_RESPONSE_BYTES: String(CAP) },
    });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    const files: Record<string, unknown> = {
      good: {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'gitlabApiToken', tokenValue: TOKEN },
          { tokenName: 'baseURL', tokenValue: gl.baseUrl },
        ],
      },
      metadata: {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'gitlabApiToken', tokenValue: TOKEN },
          { tokenName: 'baseURL', tokenValue: 'http://169.254.169.254/latest' },
        ],
      },
      mapped: {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'gitlabApiToken', tokenValue: TOKEN },
          { tokenName: 'baseURL', tokenValue: 'http://[::ffff:a9fe:a9fe]' },
        ],
      },
      fileurl: {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'gitlabApiToken', tokenValue: TOKEN },
          { tokenName: 'baseURL', tokenValue: 'file:///etc/passwd' },
        ],
      },
      userinfo: {
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'gitlabApiToken', tokenValue: TOKEN },
          { tokenName: 'baseURL', tokenValue: `http://user:${TOKEN}@127.0.0.1:1` },
        ],
      },
      notoken: { auth_type: 'Token Auth', credentials: [{ tokenName: 'baseURL', tokenValue: gl.baseUrl }] },
      basic: { auth_type: 'Basic Auth', credentials: [{ username: 'u', password: TOKEN }] },
    };
    for (const [name, doc] of Object.entries(files)) {
      await writeFile(join(system.configDir, 'credentials', `${name}.json`), JSON.stringify(doc));
      conns[name] = await system.createConnection({
        integration: 'gitlab',
        name: `gl-${name}`,
        credentialPath: `credentials/${name}.json`,
      });
    }
  });

  after(async () => {
    await system.stop();
    await gl.close();
    await evil.close();
  });

  async function run(action: string, inputs: Record<string, unknown>, conn = 'good'): Promise<TaskView> {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.gitlab.${action}`,
      connectionId: conns[conn]!,
      inputs,
      timeoutMs: 15_000,
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assertNoSecretIn(done, SECRETS, `task ${task.id}`);
    return done;
  }

  /** The task fails with `code`, once, and neither GitLab nor evil received anything. */
  async function refused(code: string, action: string, inputs: Record<string, unknown>, conn = 'good'): Promise<TaskView> {
    const seen = [gl.requests.length, evil.requests.length];
    const done = await run(action, inputs, conn);
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, code, JSON.stringify(done.outcome?.error));
    assert.equal(done.attempts, 1);
    assert.deepEqual([gl.requests.length, evil.requests.length], seen, 'a server received a request');
    return done;
  }

  it('1. a dot-segment project id is refused before sending', async () => {
    await refused('PAR_ERR_INPUT_INVALID', 'projects.getProject', { project_id: '..' });
    await refused('PAR_ERR_INPUT_INVALID', 'branches.getBranch', { project_id: 'team/app', branch: '.' });
  });

  it('2. traversal inside an id stays one encoded segment under /api/v4', async () => {
    const done = await run('branches.getBranch', { project_id: 'team/app', branch: '../../../../user' });
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_GITLAB_NOT_FOUND');
    assert.equal(gl.requests.at(-1)?.path, '/api/v4/projects/team%2Fapp/repository/branches/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fuser');
    const file = await run('repositoryfiles.getRawFile', { project_id: 'team/app', file_path: '../../../etc/passwd', ref: 'main' });
    assert.equal(file.outcome?.error?.code, 'PAR_ERR_GITLAB_NOT_FOUND');
    assert.ok(gl.requests.at(-1)?.path.startsWith('/api/v4/projects/team%2Fapp/repository/files/%2E%2E%2F'));
  });

  it('3. a baseURL on a metadata address (plain or IPv4-mapped IPv6) is blocked before a socket opens', async () => {
    await refused('PAR_ERR_HTTP_ADDRESS_BLOCKED', 'users.testConnection', {}, 'metadata');
    await refused('PAR_ERR_HTTP_ADDRESS_BLOCKED', 'users.currentUser', {}, 'mapped');
  });

  it('4. a non-http baseURL or one with userinfo is refused, the token not quoted', async () => {
    await refused('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'users.testConnection', {}, 'fileurl');
    const done = await refused('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'users.testConnection', {}, 'userinfo');
    assert.doesNotMatch(done.outcome?.error?.message ?? '', /glpat/);
  });

  it('5. a credential file without gitlabApiToken, or Basic Auth, is refused before sending', async () => {
    await refused('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'users.testConnection', {}, 'notoken');
    await refused('PAR_ERR_GITLAB_CREDENTIALS_INVALID', 'users.testConnection', {}, 'basic');
  });

  it('6. a redirect to another origin is not followed: the token never reaches it', async () => {
    gl.respondNext(302, '', { location: `${evil.url}/api/v4/user` });
    const before = evil.requests.length;
    const done = await run('users.currentUser', {});
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_GITLAB_STATUS');
    assert.equal(evil.requests.length, before);
  });

  it('7. a GitLab error that echoes the token is redacted from the result', async () => {
    gl.respondNext(400, JSON.stringify({ message: `token ${TOKEN} is not allowed here` }), { 'content-type': 'application/json' });
    const done = await run('projects.getProject', { project_id: 'team/app' });
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_GITLAB_REJECTED');
    assert.doesNotMatch(JSON.stringify(done), /glpat-corpus/);
  });

  it('8. a response over the cap fails, not buffered whole', async () => {
    gl.respondNext(200, Buffer.alloc(CAP * 4, 'a'), { 'content-type': 'application/json' });
    const done = await run('projects.getProject', { project_id: 'team/app' });
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_GITLAB_RESPONSE_TOO_LARGE');
  });

  it('9. inputs of the wrong type or shape are refused before sending', async () => {
    await refused('PAR_ERR_INPUT_INVALID', 'projects.getProject', { project_id: { $ne: 1 } });
    await refused('PAR_ERR_INPUT_INVALID', 'projects.getProject', {});
    await refused('PAR_ERR_INPUT_INVALID', 'graphql.graphql', { query: '' });
    await refused('PAR_ERR_INPUT_INVALID', 'repositoryfiles.getRawFile', {
      project_id: 'team/app',
      file_path: 'README.md',
      ref: 'main',
      encoding: 'latin1',
    });
  });

  it('10. an input named like the token header goes to the query, never replacing the connection token', async () => {
    const done = await run('projects.listProjects', { private_token: 'attacker' });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.equal(gl.requests.at(-1)?.privateToken, TOKEN);
    assert.equal(gl.requests.at(-1)?.query.get('private_token'), 'attacker');
  });

  it('11. an action outside the allowlist (groups.*) is refused and never reaches GitLab', async () => {
    const seen = gl.requests.length;
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.gitlab.groups.deleteGroup',
      connectionId: conns['good']!,
      inputs: { group_id: 1 },
      timeoutMs: 15_000,
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assert.equal(done.state, 'failed');
    assert.match(done.outcome?.error?.code ?? '', /ALLOWLIST|NOT_ALLOWED/);
    assert.equal(gl.requests.length, seen);
  });

  it('no secret in any result, log or Redis key; every process healthy', async () => {
    await assertNothingLeaked(system, SECRETS);
  });
});
