/**
 * Control plane: runners created from the API get a one-time, expiring enrollment token and
 * install snippets; token enrollment works once; health checks drive the runner's status.
 * Real Redis, inject(), the harness clock for expiry and the offline window.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import {
  createRunnerResponseSchema,
  enrollmentTokenResponseSchema,
  RUNNER_ENROLLMENT_API,
  type CreateRunnerResponse,
} from '../../src/contracts/admin-api.js';
import { RUNNER_API, enrollResponseSchema, type HealthReport } from '../../src/contracts/runner-api.js';
import { TASKS_API } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair, importSigningKey, type KeyPairJwk } from '../../src/crypto/keys.js';
import { RunnerTokenMinter } from '../../src/crypto/runner-token.js';
import { startHarness, type Harness, type InjectResult } from './control-plane-harness.js';

const OFFLINE_AFTER_MS = 30_000;
const TOKEN_TTL_MS = 60_000;

function healthy(overrides: Partial<HealthReport> = {}): HealthReport {
  return {
    version: '9.9.9',
    platform: 'linux-x64 node v20',
    allowlist: ['com.datadoghq.http.request'],
    capacity: 50,
    inFlight: 2,
    healthy: true,
    problems: [],
    ...overrides,
  };
}

describe('enrollment tokens and runner health', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness('enroll-tokens', {
      enrollmentTokenTtlMs: TOKEN_TTL_MS,
      runnerOfflineAfterMs: OFFLINE_AFTER_MS,
      publicUrl: 'https://cp.example.test:7700',
    });
  });
  after(async () => {
    await h.close();
  });

  const createRunner = async (name: string, allowlist = ['com.datadoghq.http.request']): Promise<CreateRunnerResponse> => {
    const res = await h.request('POST', TASKS_API.runners, { headers: h.appHeaders(), body: { name, allowlist } });
    assert.equal(res.statusCode, 201, JSON.stringify(res.body));
    return createRunnerResponseSchema.parse(res.body);
  };
  const enrollWith = async (token: string, keyPair?: KeyPairJwk): Promise<InjectResult> => {
    const keys = keyPair ?? (await generateSigningKeyPair());
    return h.request('POST', RUNNER_API.enroll, {
      headers: { authorization: `Bearer ${token}` },
      body: { publicKey: keys.publicJwk, allowlist: [], version: '9.9.9' },
    });
  };
  const runnerView = async (
    id: string,
  ): Promise<{ status?: string; health?: { version: string; inFlight: number; receivedAt: number }; version: string }> => {
    const res = await h.request('GET', `${TASKS_API.runners}/${id}`, { headers: h.appHeaders() });
    assert.equal(res.statusCode, 200, JSON.stringify(res.body));
    return res.body as { status?: string; health?: { version: string; inFlight: number; receivedAt: number }; version: string };
  };
  const errorCode = (res: InjectResult): string => (res.body as { code?: string }).code ?? '';

  it('creating a runner returns a token and four snippets carrying the token and the control-plane URL', async () => {
    const created = await createRunner('snippet-runner', ['com.datadoghq.http.request', 'com.datadoghq.kubernetes.core.listPod']);
    assert.equal(created.runner.status, 'never_connected');
    assert.equal(created.runner.access, 'editor');
    assert.match(created.enrollment.token, /^par_enroll_[A-Za-z0-9_-]{40,}$/);
    const now = h.now();
    assert.ok(
      created.enrollment.expiresAt > now && created.enrollment.expiresAt <= now + TOKEN_TTL_MS,
      'expires within the configured TTL',
    );
    const { dockerRun, compose, kubernetes, parRunner } = created.enrollment.snippets;
    for (const [name, text] of Object.entries({ dockerRun, compose, kubernetes, parRunner })) {
      assert.ok(text.includes(created.enrollment.token), `${name} contains the token`);
      assert.ok(text.includes('https://cp.example.test:7700'), `${name} contains the control-plane URL`);
      assert.ok(text.includes('snippet-runner'), `${name} names the runner`);
    }
    assert.match(dockerRun, /^docker run -d \\$/m);
    assert.match(dockerRun, /-v par-runner-config:\/etc\/dd-action-runner\/config/);
    assert.match(dockerRun, /ACTIONS_ALLOWLIST=com\.datadoghq\.http\.request,com\.datadoghq\.kubernetes\.core\.listPod/);
    assert.match(dockerRun, /private-action-runner:local/);
    assert.match(parRunner, /par runner --enrollment-token par_enroll_/);
    const composeDoc = parseYaml(compose) as {
      services: Record<string, { image: string; environment: Record<string, string>; volumes: string[] }>;
    };
    const service = composeDoc.services['private-runner'];
    assert.ok(service);
    assert.equal(service.environment['PAR_ENROLLMENT_TOKEN'], created.enrollment.token);
    assert.equal(service.environment['DD_PRIVATE_RUNNER_CONFIG_DIR'], '/etc/dd-action-runner/config');
    assert.equal(service.environment['RUNNER_MODES'], 'pull');
    assert.deepEqual(service.volumes, ['par-runner-config:/etc/dd-action-runner/config']);
    assert.match(kubernetes, /--enroll -f k8s --output-dir deploy\/overlays\/snippet-runner/);
    assert.match(kubernetes, /ACTIONS_ALLOWLIST=com\.datadoghq\.http\.request,com\.datadoghq\.kubernetes\.core\.listPod/);
    assert.match(kubernetes, /PAR_RUNNER_IMAGE=private-action-runner:local/);
    // Only the token's hash is stored.
    const keys = await h.redis.keys(`${h.prefix}*`);
    const values2 = await Promise.all(
      keys.map(async (k) =>
        (await h.redis.type(k)) === 'hash' ? JSON.stringify(await h.redis.hgetall(k)) : String(await h.redis.get(k).catch(() => '')),
      ),
    );
    assert.ok(!values2.some((v) => v.includes(created.enrollment.token)), 'the token itself is not stored');
  });

  it('a token enrolls its runner once; reuse, unknown and expired tokens are refused with their codes', async () => {
    const created = await createRunner('token-runner');
    const keys = await generateSigningKeyPair();
    const first = await enrollWith(created.enrollment.token, keys);
    assert.equal(first.statusCode, 201, JSON.stringify(first.body));
    const enrolled = enrollResponseSchema.parse(first.body);
    assert.equal(enrolled.runnerId, created.runner.id);
    assert.equal(enrolled.name, 'token-runner');
    assert.deepEqual(enrolled.allowlist, ['com.datadoghq.http.request'], 'the allowlist given at creation is handed to the runner');

    // The enrolled runner's key now authenticates its calls.
    const minter = new RunnerTokenMinter(enrolled.runnerId, await importSigningKey(keys.privateJwk));
    const dequeue = await h.request('POST', RUNNER_API.dequeue, {
      headers: { authorization: `Bearer ${await minter.token()}` },
      body: { max: 1, waitMs: 0 },
    });
    assert.equal(dequeue.statusCode, 200);

    const reuse = await enrollWith(created.enrollment.token);
    assert.equal(reuse.statusCode, 401);
    assert.equal(errorCode(reuse), 'PAR_ERR_ENROLL_TOKEN_USED');
    assert.match((reuse.body as { message: string }).message, /already used/);

    const unknown = await enrollWith('par_enroll_thisTokenWasNeverIssuedByThisControlPlane0000000');
    assert.equal(unknown.statusCode, 401);
    assert.equal(errorCode(unknown), 'PAR_ERR_ENROLL_TOKEN_INVALID');
    const mangled = await enrollWith('not-even-the-right-prefix');
    assert.equal(errorCode(mangled), 'PAR_ERR_ENROLL_TOKEN_INVALID');

    // A token for an enrolled runner cannot be reissued.
    const again = await h.request('POST', RUNNER_ENROLLMENT_API.enrollmentToken(created.runner.id), { headers: h.appHeaders() });
    assert.equal(again.statusCode, 409);
    assert.equal(errorCode(again), 'PAR_ERR_ENROLL_ALREADY_ENROLLED');
  });

  it('an expired token is refused; a reissued token works and the old one is dead', async () => {
    const created = await createRunner('late-runner');
    h.advance(TOKEN_TTL_MS + 1);
    const expired = await enrollWith(created.enrollment.token);
    assert.equal(expired.statusCode, 401);
    assert.equal(errorCode(expired), 'PAR_ERR_ENROLL_TOKEN_EXPIRED');

    const res = await h.request('POST', RUNNER_ENROLLMENT_API.enrollmentToken(created.runner.id), { headers: h.appHeaders() });
    assert.equal(res.statusCode, 201, JSON.stringify(res.body));
    const fresh = enrollmentTokenResponseSchema.parse(res.body).enrollment;
    assert.notEqual(fresh.token, created.enrollment.token);
    assert.ok(fresh.snippets.dockerRun.includes(fresh.token));
    const old = await enrollWith(created.enrollment.token);
    assert.equal(errorCode(old), 'PAR_ERR_ENROLL_TOKEN_INVALID', 'the replaced token is no longer known');
    const ok = await enrollWith(fresh.token);
    assert.equal(ok.statusCode, 201, JSON.stringify(ok.body));
  });

  it('a token only goes with the enroll call: keys are still required without one, and names must be unique', async () => {
    const noAuth = await h.request('POST', RUNNER_API.enroll, {
      body: { name: 'x', publicKey: (await generateSigningKeyPair()).publicJwk },
    });
    assert.equal(errorCode(noAuth), 'PAR_ERR_AUTH_API_KEY_INVALID');
    await createRunner('dup-runner');
    const dup = await h.request('POST', TASKS_API.runners, { headers: h.appHeaders(), body: { name: 'dup-runner', allowlist: [] } });
    assert.equal(dup.statusCode, 409);
    assert.equal(errorCode(dup), 'PAR_ERR_ENROLL_NAME_TAKEN');
    const noKey = await h.request('POST', TASKS_API.runners, { body: { name: 'nokey-runner', allowlist: [] } });
    assert.equal(noKey.statusCode, 403);
    const bad = await h.request('POST', TASKS_API.runners, { headers: h.appHeaders(), body: { name: 'bad name!', allowlist: [] } });
    assert.equal(bad.statusCode, 400);
  });

  it('status: never_connected, then ready after a health check, unhealthy when it says so, offline after the window', async () => {
    const created = await createRunner('health-runner');
    assert.equal((await runnerView(created.runner.id)).status, 'never_connected');
    const list = await h.request('GET', TASKS_API.runners, { headers: h.appHeaders() });
    const listed = (list.body as { runners: { id: string; status?: string }[] }).runners.find((r) => r.id === created.runner.id);
    assert.equal(listed?.status, 'never_connected', 'the list shows runners that have not enrolled yet');

    const keys = await generateSigningKeyPair();
    assert.equal((await enrollWith(created.enrollment.token, keys)).statusCode, 201);
    const minter = new RunnerTokenMinter(created.runner.id, await importSigningKey(keys.privateJwk));
    const report = async (body: HealthReport): Promise<InjectResult> =>
      h.request('POST', RUNNER_API.health, { headers: { authorization: `Bearer ${await minter.token()}` }, body });

    const ok = await report(healthy());
    assert.equal(ok.statusCode, 200, JSON.stringify(ok.body));
    let view = await runnerView(created.runner.id);
    assert.equal(view.status, 'ready');
    assert.equal(view.health?.version, '9.9.9');
    assert.equal(view.health.inFlight, 2);
    assert.equal(view.version, '9.9.9', 'the runner version follows its health checks');

    assert.equal((await report(healthy({ healthy: false, problems: ['runner Redis unreachable'] }))).statusCode, 200);
    view = await runnerView(created.runner.id);
    assert.equal(view.status, 'unhealthy');

    assert.equal((await report(healthy())).statusCode, 200);
    h.advance(OFFLINE_AFTER_MS + 1_000);
    assert.equal((await runnerView(created.runner.id)).status, 'offline');

    const unauthenticated = await h.request('POST', RUNNER_API.health, { body: healthy() });
    assert.equal(unauthenticated.statusCode, 401);
    const invalid = await report({ ...healthy(), capacity: -1 });
    assert.equal(invalid.statusCode, 400);
  });
});
