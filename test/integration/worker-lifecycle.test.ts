import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { workerConfigSchema } from '../../src/config/worker.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { ParError } from '../../src/errors/par-error.js';
import { writeIdentity } from '../../src/lib/identity-file.js';
import { runWorker } from '../../workers/main.js';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';
import { makeIdentity, newTaskId, silentLogger, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const REQUEST = 'com.datadoghq.http.request';

describe('worker: start-up', () => {
  it('waits for the identity file, then starts', async () => {
    const dir = await tempDir('worker-wait');
    const prefix = uniquePrefix('worker-wait');
    const config = workerConfigSchema.parse({ configDir: dir.path, redisUrl: TEST_REDIS_URL, queuePrefix: prefix, identityWaitMs: 10_000 });
    const redis = connectRedis();
    try {
      let started = false;
      const lines: string[] = [];
      const logger = pino(
        { level: 'info' },
        {
          write: (line: string) => {
            lines.push(line);
          },
        },
      );
      const pending = runWorker(config, logger).then((w) => {
        started = true;
        return w;
      });
      // It looked for the file, found none, and said it waits (rather than a guessed delay).
      await waitUntil(
        () => (lines.some((l) => l.includes('waiting for the runner to enroll')) ? true : undefined),
        5_000,
        'the worker to wait for the identity',
      );
      assert.equal(started, false);
      await writeIdentity(dir.path, await makeIdentity(await generateSigningKeyPair(), []));
      const worker = await pending;
      await worker.close();
    } finally {
      await deleteKeys(redis, prefix);
      await redis.quit();
      await dir.remove();
    }
  });

  it('gives up after identityWaitMs with PAR_ERR_ENROLL_IDENTITY_INVALID', async () => {
    const dir = await tempDir('worker-nowait');
    const config = workerConfigSchema.parse({
      configDir: dir.path,
      redisUrl: TEST_REDIS_URL,
      queuePrefix: uniquePrefix('worker-nowait'),
      identityWaitMs: 300,
    });
    try {
      await assert.rejects(
        runWorker(config, silentLogger),
        (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_ENROLL_IDENTITY_INVALID',
      );
    } finally {
      await dir.remove();
    }
  });

  it('stops waiting when its signal aborts', async () => {
    const dir = await tempDir('worker-abort');
    const config = workerConfigSchema.parse({ configDir: dir.path, redisUrl: TEST_REDIS_URL, queuePrefix: uniquePrefix('worker-abort') });
    try {
      await assert.rejects(runWorker(config, silentLogger, { signal: AbortSignal.timeout(100) }), { name: /AbortError|TimeoutError/ });
    } finally {
      await dir.remove();
    }
  });
});

describe('worker: credentials, cancel, close', () => {
  let h: WorkerHarness;
  let target: TargetServer;
  let outside: { path: string; remove(): Promise<void> };

  before(async () => {
    target = await startTargetServer();
    outside = await tempDir('worker-outside');
    // The worker config's allowlist wins over the identity's (which admits nothing here).
    h = await startWorkerHarness('worker-lifecycle', { identityAllowlist: [], config: { allowlist: ['com.datadoghq.http.*'] } });
  });
  after(async () => {
    await h.close();
    await target.close();
    await outside.remove();
  });

  async function writeIn(root: string, rel: string, text: string): Promise<void> {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text, { mode: 0o600 });
  }

  it('reads a credential file under the config dir', async () => {
    await writeIn(
      h.configDir,
      'credentials/http.json',
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 't', tokenValue: 'SECRET-1' }] }),
    );
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      inputs: { url: `${target.url}/health` },
      connection: { id: 'c1', integration: 'http', credentialPath: 'credentials/http.json', settings: { baseUrl: target.url } },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.doesNotMatch(JSON.stringify(outcome), /SECRET-1/);
  });

  for (const [name, credentialPath, prepare, code] of [
    ['a path escaping the config dir', '../escape.json', async () => undefined, 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR'],
    ['a missing file', 'credentials/none.json', async () => undefined, 'PAR_ERR_CREDENTIALS_UNAVAILABLE'],
    [
      'a file that is not JSON',
      'credentials/bad.json',
      () => writeIn(h.configDir, 'credentials/bad.json', 'password=SECRET-2'),
      'PAR_ERR_CREDENTIALS_UNAVAILABLE',
    ],
    [
      'a file that is not YAML either',
      'credentials/bad.yaml',
      () => writeIn(h.configDir, 'credentials/bad.yaml', 'a: [SECRET-4\n  b: {'),
      'PAR_ERR_CREDENTIALS_UNAVAILABLE',
    ],
    [
      'an unknown auth_type',
      'credentials/odd.json',
      () => writeIn(h.configDir, 'credentials/odd.json', JSON.stringify({ auth_type: 'Magic', credentials: [{ spell: 'SECRET-5' }] })),
      'PAR_ERR_CREDENTIALS_UNAVAILABLE',
    ],
    [
      'a file over 1 MiB',
      'credentials/huge.json',
      () =>
        writeIn(
          h.configDir,
          'credentials/huge.json',
          JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 't', tokenValue: `SECRET-6${'x'.repeat(1024 * 1024)}` }] }),
        ),
      'PAR_ERR_FILE_TOO_LARGE',
    ],
  ] as const) {
    it(`refuses ${name} with ${code} naming the file, not its contents`, async () => {
      await prepare();
      const before = target.requests.length;
      const taskId = newTaskId();
      await h.submit({
        sub: taskId,
        action: REQUEST,
        inputs: { url: `${target.url}/health` },
        connection: { id: 'c1', integration: 'http', credentialPath },
      });
      const outcome = await h.waitResult(taskId);
      assert.equal(outcome.kind, 'failed');
      assert.equal(outcome.error?.code, code);
      assert.ok(outcome.error.message.includes(credentialPath), outcome.error.message);
      assert.doesNotMatch(outcome.error.message, /SECRET/);
      assert.equal(target.requests.length, before, 'the action never ran');
    });
  }

  it('refuses a symlink that leads outside the config dir', async () => {
    await writeIn(outside.path, 'secret.json', JSON.stringify({ password: 'SECRET-3' }));
    await mkdir(join(h.configDir, 'links'), { recursive: true });
    await symlink(join(outside.path, 'secret.json'), join(h.configDir, 'links', 'secret.json'));
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: REQUEST,
      inputs: { url: `${target.url}/health` },
      connection: { id: 'c1', integration: 'http', credentialPath: 'links/secret.json' },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR');
  });

  it('cancel() stops a running task: cancelled, and the request is aborted', async () => {
    let aborted = false;
    target.route('/hold', (_req, res) => {
      res.on('close', () => {
        if (!res.writableEnded) aborted = true;
      });
    });
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/hold` } });
    await waitUntil(() => (target.requests.some((r) => r.url === '/hold') ? true : undefined), 2_000, 'request reached the target');
    assert.equal(h.worker.cancel(taskId, 'test'), true);
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'cancelled');
    assert.equal(outcome.error?.code, 'PAR_ERR_TASK_CANCELLED');
    assert.equal(await waitUntil(() => (aborted ? true : undefined), 2_000, 'server sees the abort'), true);
  });

  it('close() lets a running task finish and report', async () => {
    target.route('/slow', (_req, res) => {
      setTimeout(() => res.end('done'), 300);
    });
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: REQUEST, inputs: { url: `${target.url}/slow` } });
    await waitUntil(() => (target.requests.some((r) => r.url === '/slow') ? true : undefined), 2_000, 'request reached the target');
    await h.worker.close();
    const outcome = await h.waitResult(taskId, 1_000);
    assert.equal(outcome.kind, 'succeeded');
    assert.equal((outcome.output as { body: unknown }).body, 'done');
  });
});
