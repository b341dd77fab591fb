/**
 * The vendor's documented files work as written, end to end through the real processes: its
 * example script config, its HTTP token and basic credential files and its PostgreSQL credential
 * file (test/fixtures/), with only the placeholder values replaced by this test's own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A vendor fixture with its placeholder values replaced. */
async function fixture(name: string, values: Record<string, string>): Promise<string> {
  let text = await readFile(join(FIXTURES, name), 'utf8');
  for (const [placeholder, value] of Object.entries(values)) text = text.replaceAll(`"${placeholder}"`, JSON.stringify(value));
  return text;
}

describe('the vendor documentation files, end to end', () => {
  let system: System;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    target.route('/whoami', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          authorized:
            req.headers['authorization'] === 'Bearer tok-e2e-1' ||
            req.headers['authorization'] === `Basic ${Buffer.from('ops:pw-e2e').toString('base64')}`,
          apiKey: req.headers['x-api-key'] === 'tok-e2e-2',
        }),
      );
    });
    system = await startSystem({
      allowlist: 'com.datadoghq.script.runPredefinedScript,com.datadoghq.http.request,com.datadoghq.postgresql.select',
    });
    await writeFile(
      join(system.configDir, 'script-config.yaml'),
      await readFile(join(FIXTURES, 'vendor-script-config', 'script-config.yaml')),
    );
    const credentials = join(system.configDir, 'credentials');
    await mkdir(credentials, { recursive: true });
    await writeFile(
      join(credentials, 'http_token.json'),
      await fixture('vendor-credentials/http_token.json', { VALUE1: 'tok-e2e-1', VALUE2: 'tok-e2e-2' }),
    );
    await writeFile(
      join(credentials, 'http_basic.json'),
      await fixture('vendor-credentials/http_basic.json', { USERNAME: 'ops', PASSWORD: 'pw-e2e' }),
    );
    await writeFile(
      join(credentials, 'postgresql_token.json'),
      await fixture('vendor-credentials/postgresql_token.json', {
        HOST_NAME: '127.0.0.1',
        PORT: '5432',
        USER: 'postgres',
        PASSWORD: '',
        DATABASE_NAME: 'test',
        require: 'disable',
        APPLICATION_NAME: 'par-e2e',
        SEARCH_PATH: 'pg_catalog, public',
      }),
    );
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  async function run(action: string, inputs: Record<string, unknown>, connectionId?: string) {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action,
      inputs,
      timeoutMs: 15_000,
      ...(connectionId ? { connectionId } : {}),
    });
    return system.api.waitForTask(task.id, 30_000);
  }

  test('the example script config: both scripts run', async () => {
    const plain = await run('com.datadoghq.script.runPredefinedScript', { scriptName: 'echo' });
    assert.equal(plain.state, 'succeeded', JSON.stringify(plain.outcome));
    assert.equal((plain.outcome?.output as { stdout: string }).stdout, 'Hello World!');
    const param = await run('com.datadoghq.script.runPredefinedScript', {
      scriptName: 'echo-parametrized',
      parameters: { echoValue: 'from a workflow' },
      timeout: 5,
    });
    assert.equal(param.state, 'succeeded', JSON.stringify(param.outcome));
    assert.equal((param.outcome?.output as { stdout: string }).stdout, 'from a workflow');
  });

  test('the HTTP token file: both tokens reach the service through the connection templates', async () => {
    const connectionId = await system.createConnection({
      integration: 'http',
      credentialPath: 'credentials/http_token.json',
      settings: {
        baseUrl: target.url,
        headers: [
          { key: 'Authorization', value: 'Bearer {{ TOKEN1 }}' },
          { key: 'X-Api-Key', value: '{{ TOKEN2 }}' },
        ],
      },
    });
    const done = await run('com.datadoghq.http.request', { verb: 'GET', url: `${target.url}/whoami` }, connectionId);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual((done.outcome?.output as { body: unknown }).body, { authorized: true, apiKey: true });
  });

  test('the HTTP basic file: the service sees Basic auth', async () => {
    const connectionId = await system.createConnection({
      integration: 'http',
      credentialPath: 'credentials/http_basic.json',
      settings: { baseUrl: target.url },
    });
    const done = await run('com.datadoghq.http.request', { verb: 'GET', url: '/whoami' }, connectionId);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual((done.outcome?.output as { body: unknown }).body, { authorized: true, apiKey: false });
  });

  test('the PostgreSQL file: a select runs against the real server', async () => {
    const connectionId = await system.createConnection({ integration: 'postgresql', credentialPath: 'credentials/postgresql_token.json' });
    const done = await run(
      'com.datadoghq.postgresql.select',
      {
        query: 'SELECT current_setting($1) AS app, current_setting($2) AS path, 1 + 1 AS two',
        parameters: ['application_name', 'search_path'],
      },
      connectionId,
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual((done.outcome?.output as { rows: unknown[] }).rows, [{ app: 'par-e2e', path: 'pg_catalog, public', two: 2 }]);
  });
});
