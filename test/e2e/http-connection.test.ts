/**
 * HTTP actions through a connection, end to end: real control plane, runner and worker processes;
 * the credential file lives only in the runner's config dir. The target must receive the right
 * auth; the credential values must appear nowhere else (results, task history, process logs).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const TOKEN = 'e2e-token-7c1f0b9a4d2e';
const PASSWORD = 'e2e-password-51d8a3';

describe('http actions through a connection', () => {
  let system: System;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    target.route('/api/items', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ items: [1, 2], path: new URL(req.url ?? '/', 'http://x').pathname }));
    });
    system = await startSystem({ allowlist: 'com.datadoghq.http.*', workerEnv: { PAR_LOG_LEVEL: 'debug' } });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    await writeFile(
      join(system.configDir, 'credentials', 'items-api.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'itemsToken', tokenValue: TOKEN }] }),
    );
    await writeFile(
      join(system.configDir, 'credentials', 'basic.json'),
      JSON.stringify({ auth_type: 'Basic Auth', credentials: [{ username: 'ops', password: PASSWORD }] }),
    );
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  function assertNoSecret(text: string, where: string): void {
    for (const secret of [TOKEN, PASSWORD, Buffer.from(`ops:${PASSWORD}`).toString('base64')]) {
      assert.ok(!text.includes(secret), `${where} contains a credential value`);
    }
  }

  test('request and testConnection run with the connection auth; the secret stays on the runner side', async () => {
    const tokenConnection = await system.createConnection({
      integration: 'http',
      name: 'items-api',
      credentialPath: 'credentials/items-api.json',
      settings: { baseUrl: `${target.url}/api`, headers: [{ key: 'Authorization', value: 'Bearer {{ itemsToken }}' }] },
    });
    const basicConnection = await system.createConnection({
      integration: 'http',
      name: 'basic',
      credentialPath: 'credentials/basic.json',
      settings: { baseUrl: `${target.url}/api/items` },
    });

    const request = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.request',
      connectionId: tokenConnection,
      inputs: { verb: 'GET', url: '/items', errorOnStatus: ['400-599'] },
      timeoutMs: 10_000,
    });
    const probe = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.testConnection',
      connectionId: basicConnection,
      inputs: {},
      timeoutMs: 10_000,
    });
    const [requestDone, probeDone] = await Promise.all([
      system.api.waitForTask(request.id, 20_000),
      system.api.waitForTask(probe.id, 20_000),
    ]);

    assert.equal(requestDone.state, 'succeeded', JSON.stringify(requestDone.outcome));
    const output = requestDone.outcome?.output as { status: number; body: { items: number[]; path: string } };
    assert.deepEqual([output.status, output.body], [200, { items: [1, 2], path: '/api/items' }]);
    assert.equal(probeDone.state, 'succeeded', JSON.stringify(probeDone.outcome));
    assert.deepEqual(probeDone.outcome?.output, { reachable: true, status: 200 });

    const received = target.requests.filter((r) => r.url.startsWith('/api/items'));
    assert.equal(received.length, 2);
    assert.deepEqual(
      received.map((r) => r.headers['authorization']).sort(),
      [`Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`, `Bearer ${TOKEN}`].sort(),
    );

    assertNoSecret(JSON.stringify(requestDone), 'the request task view');
    assertNoSecret(JSON.stringify(probeDone), 'the testConnection task view');
    assertNoSecret(JSON.stringify(await system.api.getTaskEvents(request.id)), 'the task history');
    assertNoSecret(system.runner.output(), 'the runner output');
    assertNoSecret(system.cp.output(), 'the control plane output');
    for (const worker of system.workers) assertNoSecret(worker.output(), `${worker.name} output`);
  });

  test('an unknown token name comes back as a clear non-retryable failure naming the token', async () => {
    const connection = await system.createConnection({
      integration: 'http',
      name: 'typo',
      credentialPath: 'credentials/items-api.json',
      settings: { baseUrl: target.url, headers: { 'X-Api-Key': '{{ itemToken }}' } },
    });
    const before = target.requests.length;
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.request',
      connectionId: connection,
      inputs: { url: '/health' },
      timeoutMs: 10_000,
    });
    const done = await system.api.waitForTask(task.id, 20_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_HTTP_TOKEN_UNKNOWN');
    assert.equal(done.outcome.error.retryable, false);
    assert.match(done.outcome.error.message, /"itemToken"/);
    assertNoSecret(JSON.stringify(done), 'the failed task view');
    assert.equal(target.requests.length, before);
  });
});
