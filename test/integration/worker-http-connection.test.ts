/**
 * The http bundle inside a real worker (real Redis, signed tasks): connection auth from a
 * credential file in the config dir, the runner-side host allowlist from the worker config, and
 * a bad CA bundle stopping the worker at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { workerConfigSchema } from '../../src/config/worker.js';
import { ParError } from '../../src/errors/par-error.js';
import { runWorker } from '../../workers/main.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { tempDir } from '../helpers/tmp.js';
import { makeIdentity, newTaskId, silentLogger, startWorkerHarness, type WorkerHarness } from './worker-harness.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { writeIdentity } from '../../src/lib/identity-file.js';

const REQUEST = 'com.datadoghq.http.request';
const TEST_CONNECTION = 'com.datadoghq.http.testConnection';
const TOKEN = 'tok-9f8e7d6c5b4a-secret';
const PASSWORD = 'pw-3c2b1a-secret';

describe('worker: http connections and runner-side policy', () => {
  let h: WorkerHarness;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    target.route('/whoami', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          url: req.url,
          authorized:
            req.headers['authorization'] === `Bearer ${TOKEN}` ||
            req.headers['authorization'] === `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}`,
        }),
      );
    });
    // Loopback is the only host the worker may reach under its own name; "localhost" is refused.
    h = await startWorkerHarness('worker-http-conn', { config: { httpHostAllowlist: ['127.0.0.1'] } });
    await mkdir(join(h.configDir, 'credentials'));
    await writeFile(
      join(h.configDir, 'credentials', 'token.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'api', tokenValue: TOKEN }] }),
    );
    await writeFile(
      join(h.configDir, 'credentials', 'basic.yaml'),
      `auth_type: Basic Auth\ncredentials:\n  - username: svc\n    password: ${PASSWORD}\n`,
    );
  });
  after(async () => {
    await h.close();
    await target.close();
  });

  const tokenConnection = (settings: Record<string, unknown>) => ({
    id: 'conn-token',
    integration: 'http',
    credentialPath: 'credentials/token.json',
    settings,
  });

  it('Token Auth: templated header and URL parameter, relative url against baseUrl; the token is not in the result', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      connection: tokenConnection({
        baseUrl: `${target.url}/`,
        headers: [{ key: 'Authorization', value: 'Bearer {{ api }}' }],
        urlParams: [{ key: 'sig', value: '{{api}}' }],
      }),
      inputs: { url: '/whoami', urlParams: { q: '1' } },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    const body = (outcome.output as { body: { url: string; authorized: boolean } }).body;
    assert.equal(body.authorized, true);
    // The server saw the token; the result only echoes what the server sent back (its URL).
    const seen = target.requests.at(-1);
    assert.equal(seen?.url, `/whoami?q=1&sig=${TOKEN}`);
    assert.equal(seen.headers['authorization'], `Bearer ${TOKEN}`);
    const { output: _ignored, ...rest } = outcome;
    assert.ok(!JSON.stringify(rest).includes(TOKEN));
  });

  it('Basic Auth from a YAML credential file', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      connection: { id: 'conn-basic', integration: 'http', credentialPath: 'credentials/basic.yaml', settings: { baseUrl: target.url } },
      inputs: { url: '/whoami' },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal((outcome.output as { body: { authorized: boolean } }).body.authorized, true);
  });

  it('an unknown token name fails once, not retried, naming the token and never a value', async () => {
    const before = target.requests.length;
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      connection: tokenConnection({ baseUrl: target.url, headers: { 'X-Key': '{{ apiKey }}' } }),
      inputs: { url: '/whoami' },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_TOKEN_UNKNOWN');
    assert.equal(outcome.error.retryable, false);
    assert.equal(outcome.attempts, 1);
    assert.match(outcome.error.message, /"apiKey"/);
    assert.ok(!JSON.stringify(outcome).includes(TOKEN));
    assert.equal(target.requests.length, before);
  });

  it('an absolute url on another origin than the connection baseUrl is refused (credentials stay on their origin)', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      connection: tokenConnection({ baseUrl: target.url, headers: { Authorization: 'Bearer {{ api }}' } }),
      inputs: { url: 'http://127.0.0.1:9/steal' },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_URL_OUTSIDE_CONNECTION');
    assert.equal(outcome.attempts, 1);
  });

  it('a connection with a credential file but no baseUrl is refused before anything is sent', async () => {
    const before = target.requests.length;
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      connection: tokenConnection({ headers: { Authorization: 'Bearer {{ api }}' } }),
      inputs: { url: `${target.url}/whoami` },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_CONNECTION_ORIGIN_REQUIRED');
    assert.equal(outcome.error.retryable, false);
    assert.equal(outcome.attempts, 1);
    assert.equal(target.requests.length, before);
    assert.ok(!JSON.stringify(outcome).includes(TOKEN));
  });

  it('PAR_HTTP_HOST_ALLOWLIST refuses other hosts, once and for good; testConnection reports it', async () => {
    const port = new URL(target.url).port;
    const before = target.requests.length;
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `http://localhost:${port}/health` } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_HOST_NOT_ALLOWED');
    assert.equal(outcome.attempts, 1);
    assert.equal(target.requests.length, before);
    const probe = newTaskId();
    await h.submit({
      sub: probe,
      action: TEST_CONNECTION,
      connection: tokenConnection({ baseUrl: `${target.url}/whoami`, headers: { Authorization: 'Bearer {{ api }}' } }),
      inputs: {},
    });
    assert.deepEqual((await h.waitResult(probe)).output, { reachable: true, status: 200 });
    assert.equal(target.requests.at(-1)?.headers['authorization'], `Bearer ${TOKEN}`);
  });

  it('a forbidden header fails the task with PAR_ERR_HTTP_FORBIDDEN_HEADER', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      inputs: { url: `${target.url}/health`, requestHeaders: [{ key: 'Content-Length', value: '5' }] },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_HTTP_FORBIDDEN_HEADER');
    assert.equal(outcome.attempts, 1);
  });
});

describe('worker start with a bad PAR_HTTP_CA_BUNDLE_FILE', () => {
  it('fails fast, naming the setting', async () => {
    const dir = await tempDir('worker-http-ca');
    try {
      await writeIdentity(dir.path, await makeIdentity(await generateSigningKeyPair(), ['com.datadoghq.http.*']));
      await writeFile(join(dir.path, 'bad-ca.pem'), 'not a certificate\n');
      const config = workerConfigSchema.parse({ configDir: dir.path, httpCaBundleFile: 'bad-ca.pem', logLevel: 'silent' });
      await assert.rejects(
        runWorker(config, silentLogger),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && e.message.includes('PAR_HTTP_CA_BUNDLE_FILE'),
      );
    } finally {
      await dir.remove();
    }
  });
});
