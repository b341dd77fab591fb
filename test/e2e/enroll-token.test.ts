/**
 * End to end: a runner created through the API enrolls with `par runner --enrollment-token`,
 * reports its health and shows as ready in GET /api/v1/runners; a second runner presenting the
 * same token is refused with a clear message and a non-zero exit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'undici';
import { createRunnerResponseSchema, type CreateRunnerResponse } from '../../src/contracts/admin-api.js';
import { freePort } from '../../src/cli/local-redis.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startPar, type ParProcess } from '../helpers/processes.js';
import { releaseTestResources, startControlPlaneProcess, waitForHttpOk } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

describe('enrollment with a one-time token (real processes)', () => {
  const base = uniquePrefix('e2e-enroll-token');
  const appKey = randomBytes(20).toString('hex');
  const processes: ParProcess[] = [];
  const dirs: { path: string; remove(): Promise<void> }[] = [];
  let cpUrl = '';

  const api = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await request(`${cpUrl}${path}`, {
      method,
      headers: { 'dd-application-key': appKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, json: await res.body.json() };
  };

  before(async () => {
    const cp = await startControlPlaneProcess(
      base,
      { apiKey: randomBytes(16).toString('hex'), appKey },
      { PAR_RUNNER_OFFLINE_AFTER_MS: '5000' },
    );
    processes.push(cp.proc);
    cpUrl = cp.url;
  });

  after(() => releaseTestResources(processes, base, dirs));

  const runnerEnv = async (): Promise<{ env: Record<string, string>; dir: string; adminUrl: string }> => {
    const dir = await tempDir('enroll-token');
    dirs.push(dir);
    const adminPort = await freePort();
    return {
      dir: dir.path,
      adminUrl: `http://127.0.0.1:${adminPort}`,
      env: {
        DD_BASE_URL: cpUrl,
        DD_PRIVATE_RUNNER_CONFIG_DIR: dir.path,
        REDIS_URL: TEST_REDIS_URL,
        PAR_QUEUE_PREFIX: `${base}:q`,
        PAR_RUNNER_ADMIN_PORT: String(adminPort),
        PAR_HEALTH_INTERVAL_MS: '200',
        PAR_POLL_WAIT_MS: '1000',
        PAR_ENROLL_BACKOFF_MAX_MS: '300',
      },
    };
  };

  it('enrolls with the token, becomes ready, and a second use of the token is refused', async () => {
    const name = `token-e2e-${randomBytes(3).toString('hex')}`;
    const created = await api('POST', '/api/v1/runners', { name, allowlist: ['com.datadoghq.http.request'] });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const { runner, enrollment }: CreateRunnerResponse = createRunnerResponseSchema.parse(created.json);
    assert.equal(runner.status, 'never_connected');

    const first = await runnerEnv();
    const proc = startPar('runner-token', ['runner', '--enrollment-token', enrollment.token], first.env);
    processes.push(proc);
    await waitForHttpOk(`${first.adminUrl}/readyz`, 30_000, proc);
    const identity = await readIdentity(first.dir);
    assert.equal(identity?.runnerId, runner.id, 'the runner took the identity of the runner created through the API');
    assert.deepEqual(identity.actionsAllowlist, ['com.datadoghq.http.request'], 'the allowlist given at creation is kept in config.yaml');
    assert.ok(!proc.output().includes(enrollment.token), 'the token is never logged');

    // Health checks every 200 ms: the list shows the runner ready within a few seconds.
    let listed: { id: string; status?: string; health?: { version: string; allowlist: string[] } } | undefined;
    for (let i = 0; i < 100; i++) {
      const list = await api('GET', '/api/v1/runners');
      listed = (list.json as { runners: (typeof listed)[] }).runners.find((r) => r?.id === runner.id);
      if (listed?.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(listed?.status, 'ready', `runner status: ${JSON.stringify(listed)}`);
    assert.deepEqual(listed.health?.allowlist, ['com.datadoghq.http.request']);

    // The same token again, from another config dir (another machine): refused, clearly, exit != 0.
    const second = await runnerEnv();
    const again = startPar('runner-token-reuse', ['runner'], { ...second.env, PAR_ENROLLMENT_TOKEN: enrollment.token });
    processes.push(again);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      again.exited,
      new Promise<string>((r) => {
        timer = setTimeout(() => r('still running'), 20_000);
      }),
    ]);
    clearTimeout(timer);
    assert.notEqual(code, 0);
    assert.notEqual(code, 'still running', 'a refused token is not retried forever');
    assert.match(again.output(), /PAR_ERR_ENROLL_TOKEN_USED/);
    assert.match(again.output(), /already used/);
    assert.deepEqual(await readdir(second.dir), [], 'nothing written by the refused runner');

    // The first runner is unaffected.
    const view = await api('GET', `/api/v1/runners/${runner.id}`);
    assert.equal((view.json as { status?: string }).status, 'ready');
  });
});
