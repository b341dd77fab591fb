/**
 * Jenkins actions through the whole system: a task with a `jenkins` connection whose credential
 * file (the vendor's Token Auth format: username, token, domain) lives only in the runner's
 * config dir, run by a worker against the FAKE Jenkins controller (test/fakes/jenkins-server.ts,
 * Jenkins' real HTTP JSON API with CSRF crumbs), results back through the control plane. The API
 * token must appear nowhere but in the requests to Jenkins.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeJenkinsServer, type FakeJenkinsServer } from '../fakes/jenkins-server.js';
import { assertNothingLeaked, secretForms } from '../security/exposure.js';

const USER = 'e2e-ci-bot';
const TOKEN = '1188e2e0f00dfeedbeef2233445566aa';

describe('jenkins actions end to end', () => {
  let system: System;
  let jenkins: FakeJenkinsServer;
  let connectionId: string;

  before(async () => {
    jenkins = await startFakeJenkinsServer({ username: USER, token: TOKEN });
    system = await startSystem({ workers: 1, allowlist: 'com.datadoghq.jenkins.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    await writeFile(
      join(system.configDir, 'credentials', 'jenkins_token.json'),
      JSON.stringify({
        auth_type: 'Token Auth',
        credentials: [
          { tokenName: 'username', tokenValue: USER },
          { tokenName: 'token', tokenValue: TOKEN },
          { tokenName: 'domain', tokenValue: jenkins.url },
        ],
      }),
      { mode: 0o600 },
    );
    connectionId = await system.createConnection({ integration: 'jenkins', name: 'ci', credentialPath: 'credentials/jenkins_token.json' });
  });

  after(async () => {
    await system.stop();
    await jenkins.close();
  });

  const runTask = async (action: string, inputs: Record<string, unknown>) => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.jenkins.${action}`,
      inputs,
      connectionId,
      timeoutMs: 10_000,
    });
    return system.api.waitForTask(task.id, 20_000);
  };

  test('build with parameters, read the status, delete the job; the token stays on the runner side', async () => {
    jenkins.addJob('deploy-api', { parameters: { VERSION: '0', REGION: 'eu' } });
    const built = await runTask('buildJenkinsJob', {
      jobName: 'deploy-api',
      buildWithParameters: { option: 'with_parameters', parameters: { VERSION: '7.1.0' } },
    });
    assert.equal(built.state, 'succeeded', JSON.stringify(built.outcome));
    assert.deepEqual(built.outcome?.output, {});
    assert.deepEqual(
      jenkins.job('deploy-api')?.builds.map((b) => b.parameters),
      [{ VERSION: '7.1.0', REGION: 'eu' }],
    );
    const post = jenkins.requests.find((r) => r.method === 'POST')!;
    assert.equal(post.path, '/job/deploy-api/buildWithParameters');
    assert.ok(post.headers['jenkins-crumb'], 'the crumb was sent');

    jenkins.finishBuild('deploy-api', 1, 'FAILURE', 9000);
    const status = await runTask('getJobStatus', { jobName: 'deploy-api' });
    assert.equal(status.state, 'succeeded', JSON.stringify(status.outcome));
    assert.deepEqual(status.outcome?.output, {
      displayName: '#1',
      duration: 9000,
      estimatedDuration: 42000,
      id: '1',
      result: 'FAILURE',
      url: `${jenkins.url}/job/deploy-api/1/`,
    });

    const deleted = await runTask('deleteJenkinsJob', { jobName: 'deploy-api' });
    assert.equal(deleted.state, 'succeeded', JSON.stringify(deleted.outcome));
    assert.equal(jenkins.job('deploy-api'), undefined);

    await assertNothingLeaked(system, secretForms(TOKEN, USER));
  });

  test('a missing job fails with PAR_ERR_JENKINS_NOT_FOUND; a job name escaping /job/ is refused before Jenkins sees it', async () => {
    const missing = await runTask('getJobStatus', { jobName: 'nope' });
    assert.equal(missing.state, 'failed');
    assert.deepEqual(
      { code: missing.outcome?.error?.code, retryable: missing.outcome?.error?.retryable },
      { code: 'PAR_ERR_JENKINS_NOT_FOUND', retryable: false },
    );

    const before = jenkins.requests.length;
    const escape = await runTask('buildJenkinsJob', { jobName: '../../scriptText' });
    assert.equal(escape.state, 'failed');
    assert.equal(escape.outcome?.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.equal(jenkins.requests.length, before);
  });
});
