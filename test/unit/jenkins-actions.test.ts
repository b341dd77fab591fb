/**
 * The Jenkins actions against the fake Jenkins controller (test/fakes/jenkins-server.ts) on
 * loopback, through the registry's wiring (the HTTP bundle's policy-guarded dispatcher): Basic
 * auth, the crumb dance, the vendor's URLs and output shapes, error codes, and the network policy
 * deciding before any socket opens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ActionContext } from '../../src/actions/action.js';
import type { Credentials } from '../../src/contracts/credentials.js';
import { createHttpBundle, type HttpBundle } from '../../src/actions/http/bundle.js';
import { buildJobPath, toJobStatus } from '../../src/actions/jenkins/actions.js';
import { createJenkinsBundle } from '../../src/actions/jenkins/bundle.js';
import { buildJobInputSchema, encodeJobName, jobInputSchema } from '../../src/actions/jenkins/inputs.js';
import { createActionRegistry } from '../../src/actions/registry.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startFakeJenkinsServer, type FakeJenkinsServer } from '../fakes/jenkins-server.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const USER = 'ci-bot';
const TOKEN = '11d2f3c4b5a6978877665544332211aa';

describe('jenkins actions against a fake Jenkins', () => {
  let jenkins: FakeJenkinsServer;
  let plain: FakeJenkinsServer; // crumbs off, served under /jenkins
  let http: HttpBundle;

  before(async () => {
    jenkins = await startFakeJenkinsServer({ username: USER, token: TOKEN });
    plain = await startFakeJenkinsServer({ username: USER, token: TOKEN, crumbs: false, contextPath: '/jenkins' });
    http = createHttpBundle();
  });
  after(async () => {
    await http.close();
    await jenkins.close();
    await plain.close();
  });

  const creds = (domain: string, token = TOKEN): Credentials => ({ authType: 'Token Auth', tokens: { username: USER, token, domain } });
  const ctx = (credentials?: Credentials): ActionContext => ({
    signal: new AbortController().signal,
    logger,
    configDir: '.',
    limits: { httpMaxResponseBytes: 1 << 20 },
    credentials,
  });
  const run = async (
    bundle: {
      actions: readonly { fqn: string; inputSchema: { parse(v: unknown): unknown }; run(i: unknown, c: ActionContext): Promise<unknown> }[];
    },
    name: string,
    inputs: unknown,
    c: ActionContext,
  ) => {
    const action = bundle.actions.find((a) => a.fqn === `com.datadoghq.jenkins.${name}`)!;
    return action.run(action.inputSchema.parse(inputs), c);
  };
  const bundle = () => createJenkinsBundle({ dispatcher: http.transport.verifying });
  const rejectsWith = (p: Promise<unknown>, code: string) => assert.rejects(p, (e: unknown) => e instanceof ParError && e.code === code);

  it('the registry holds the three vendor actions', async () => {
    const registry = createActionRegistry();
    try {
      for (const name of ['buildJenkinsJob', 'getJobStatus', 'deleteJenkinsJob'])
        assert.ok(registry.get(`com.datadoghq.jenkins.${name}`), name);
    } finally {
      await registry.close();
    }
  });

  it('buildJenkinsJob fetches a crumb and POSTs /build?delay=0sec with it, Basic auth and the session cookie; output {}', async () => {
    jenkins.addJob('deploy');
    const start = jenkins.requests.length;
    assert.deepEqual(await run(bundle(), 'buildJenkinsJob', { jobName: 'deploy' }, ctx(creds(jenkins.url))), {});
    const [crumb, build] = jenkins.requests.slice(start);
    assert.deepEqual(
      [crumb?.method, crumb?.path, build?.method, build?.path, build?.query],
      ['GET', '/crumbIssuer/api/json', 'POST', '/job/deploy/build', { delay: '0sec' }],
    );
    assert.equal(build?.headers.authorization, `Basic ${Buffer.from(`${USER}:${TOKEN}`).toString('base64')}`);
    assert.match(String(build.headers['jenkins-crumb']), /^[0-9a-f]{64}$/);
    assert.match(String(build.headers.cookie), /^JSESSIONID\.[0-9a-f]+=node0/);
    assert.equal(jenkins.job('deploy')?.builds.length, 1);
  });

  it('buildJenkinsJob with_parameters goes to /buildWithParameters with the parameters in the query', async () => {
    jenkins.addJob('release', { parameters: { VERSION: '0.0.0', ENV: 'staging' } });
    await run(
      bundle(),
      'buildJenkinsJob',
      { jobName: 'release', buildWithParameters: { option: 'with_parameters', parameters: { VERSION: '1.2.3', ENV: 'prod' } } },
      ctx(creds(jenkins.url)),
    );
    assert.deepEqual(jenkins.job('release')?.builds[0]?.parameters, { VERSION: '1.2.3', ENV: 'prod' });
    assert.equal(
      buildJobPath(
        buildJobInputSchema.parse({ jobName: 'r', buildWithParameters: { option: 'with_parameters', parameters: { b: 'x y', a: '1' } } }),
      ),
      '/job/r/buildWithParameters?a=1&b=x+y&delay=0sec',
    );
    assert.equal(
      buildJobPath(buildJobInputSchema.parse({ jobName: 'r', buildWithParameters: { option: 'no_parameters', parameters: { a: '1' } } })),
      '/job/r/build?delay=0sec',
    );
    // A parameterized job built without parameters: Jenkins' 400 comes back as a status error.
    await rejectsWith(run(bundle(), 'buildJenkinsJob', { jobName: 'release' }, ctx(creds(jenkins.url))), 'PAR_ERR_JENKINS_STATUS');
  });

  it('getJobStatus reads lastBuild with the vendor fields and omitempty: running, then finished', async () => {
    const running = await run(bundle(), 'getJobStatus', { jobName: 'deploy' }, ctx(creds(jenkins.url)));
    assert.deepEqual(running, {
      displayName: '#1',
      estimatedDuration: 42000,
      id: '1',
      inProgress: true,
      url: `${jenkins.url}/job/deploy/1/`,
    });
    jenkins.finishBuild('deploy', 1, 'SUCCESS', 5678);
    const done = await run(bundle(), 'getJobStatus', { jobName: 'deploy' }, ctx(creds(jenkins.url)));
    assert.deepEqual(done, {
      displayName: '#1',
      duration: 5678,
      estimatedDuration: 42000,
      id: '1',
      result: 'SUCCESS',
      url: `${jenkins.url}/job/deploy/1/`,
    });
    jenkins.addJob('never-built');
    await rejectsWith(run(bundle(), 'getJobStatus', { jobName: 'never-built' }, ctx(creds(jenkins.url))), 'PAR_ERR_JENKINS_NOT_FOUND');
    assert.deepEqual(toJobStatus({ building: false, result: null, duration: 0, id: '' }, 't'), {});
    assert.throws(
      () => toJobStatus([], 't'),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_JENKINS_RESPONSE_INVALID',
    );
  });

  it('deleteJenkinsJob sends DELETE /job/<name>/ with a crumb; the job is gone', async () => {
    jenkins.addJob('old job');
    const start = jenkins.requests.length;
    assert.deepEqual(await run(bundle(), 'deleteJenkinsJob', { jobName: 'old job' }, ctx(creds(jenkins.url))), {});
    const sent = jenkins.requests.slice(start).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(sent, ['GET /crumbIssuer/api/json', 'DELETE /job/old%20job/']);
    assert.equal(jenkins.job('old job'), undefined);
    await rejectsWith(run(bundle(), 'deleteJenkinsJob', { jobName: 'old job' }, ctx(creds(jenkins.url))), 'PAR_ERR_JENKINS_NOT_FOUND');
  });

  it('a wrong token is 401 PAR_ERR_JENKINS_UNAUTHORIZED and no write is attempted', async () => {
    const start = jenkins.requests.length;
    await rejectsWith(
      run(bundle(), 'buildJenkinsJob', { jobName: 'deploy' }, ctx(creds(jenkins.url, 'wrong-token-000'))),
      'PAR_ERR_JENKINS_UNAUTHORIZED',
    );
    assert.deepEqual(
      jenkins.requests.slice(start).map((r) => r.method),
      ['GET'],
    );
    assert.equal(jenkins.job('deploy')?.builds.length, 1);
  });

  it('with crumbs disabled (404 from the issuer) the write goes without a crumb; a domain with a path prefix works', async () => {
    plain.addJob('app');
    await run(bundle(), 'buildJenkinsJob', { jobName: 'app' }, ctx(creds(`${plain.url}/`)));
    const [crumb, build] = plain.requests.slice(-2);
    assert.deepEqual(
      [crumb?.path, build?.method, build?.path, build?.headers['jenkins-crumb']],
      ['/jenkins/crumbIssuer/api/json', 'POST', '/jenkins/job/app/build', undefined],
    );
    // The vendor keeps `/` in a job name: folder/app goes to /job/folder/app/build, which Jenkins
    // (and the fake, which follows its /job/folder/job/app layout) does not serve: a 404.
    plain.addJob('folder/app');
    await rejectsWith(run(bundle(), 'buildJenkinsJob', { jobName: 'folder/app' }, ctx(creds(plain.url))), 'PAR_ERR_JENKINS_NOT_FOUND');
    assert.equal(plain.requests[plain.requests.length - 1]?.path, '/jenkins/job/folder/app/build');
  });

  it('5xx: retryable on a read, not on a build (it may have queued one); 429/503 always retryable', async () => {
    plain.failNext(502);
    await rejectsWith(run(bundle(), 'getJobStatus', { jobName: 'app' }, ctx(creds(plain.url))), 'PAR_ERR_JENKINS_STATUS_RETRYABLE');
    plain.failNext(500, 'POST');
    await rejectsWith(run(bundle(), 'buildJenkinsJob', { jobName: 'app' }, ctx(creds(plain.url))), 'PAR_ERR_JENKINS_STATUS');
    plain.failNext(503, 'POST');
    await rejectsWith(run(bundle(), 'buildJenkinsJob', { jobName: 'app' }, ctx(creds(plain.url))), 'PAR_ERR_JENKINS_STATUS_RETRYABLE');
    plain.failNext(429);
    await rejectsWith(run(bundle(), 'deleteJenkinsJob', { jobName: 'app' }, ctx(creds(plain.url))), 'PAR_ERR_JENKINS_STATUS_RETRYABLE');
    assert.ok(plain.job('app'), 'nothing was deleted');
  });

  it('refuses job names that would leave /job/<name>, and credentials without username, token or domain, before sending', async () => {
    for (const jobName of ['../../scriptText', 'a/../b', 'a//b', '/abs', 'x/.', 'a\nb', ''])
      assert.equal(jobInputSchema.safeParse({ jobName }).success, false, JSON.stringify(jobName));
    assert.equal(encodeJobName('my job/feature#1?x=%'), 'my%20job/feature%231%3Fx=%25');
    assert.equal(encodeJobName('é$&+:=@~'), '%C3%A9$&+:=@~');
    const start = jenkins.requests.length;
    await rejectsWith(run(bundle(), 'getJobStatus', { jobName: 'deploy' }, ctx()), 'PAR_ERR_JENKINS_CREDENTIALS_INVALID');
    await rejectsWith(
      run(
        bundle(),
        'getJobStatus',
        { jobName: 'deploy' },
        ctx({ authType: 'Token Auth', tokens: { username: USER, domain: jenkins.url } }),
      ),
      'PAR_ERR_JENKINS_CREDENTIALS_INVALID',
    );
    await rejectsWith(
      run(bundle(), 'getJobStatus', { jobName: 'deploy' }, ctx({ authType: 'Basic Auth', username: USER, password: TOKEN })),
      'PAR_ERR_JENKINS_CREDENTIALS_INVALID',
    );
    await rejectsWith(
      run(bundle(), 'getJobStatus', { jobName: 'deploy' }, ctx(creds('file:///etc/passwd'))),
      'PAR_ERR_JENKINS_CREDENTIALS_INVALID',
    );
    assert.equal(jenkins.requests.length, start);
  });

  it('the HTTP network policy applies: a blocked address is refused before a socket opens; the allowlist too', async () => {
    const fakeMetadata = '127.0.0.2';
    const guarded = createHttpBundle({ metadataAddresses: [fakeMetadata], hostAllowlist: ['127.0.0.2', 'jenkins.corp.internal'] });
    try {
      const b = createJenkinsBundle({ dispatcher: guarded.transport.verifying });
      const port = new URL(jenkins.url).port;
      const start = jenkins.requests.length;
      await rejectsWith(
        run(b, 'getJobStatus', { jobName: 'deploy' }, ctx(creds(`http://${fakeMetadata}:${port}`))),
        'PAR_ERR_HTTP_ADDRESS_BLOCKED',
      );
      await rejectsWith(run(b, 'getJobStatus', { jobName: 'deploy' }, ctx(creds(jenkins.url))), 'PAR_ERR_HTTP_HOST_NOT_ALLOWED');
      assert.equal(jenkins.requests.length, start);
    } finally {
      await guarded.close();
    }
  });
});
