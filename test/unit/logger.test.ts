import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRootLogger, scrubUrlCredentials } from '../../src/logging/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

test('the logger redacts secrets centrally and writes JSON lines to the optional log file', async () => {
  const dir = await tempDir('log');
  try {
    const file = `${dir.path}/runner.log`;
    const logger = createRootLogger({ process: 'runner', level: 'info', file });
    const child = logger.child({ component: 'enroll' }).child({ taskId: 't-1' });
    child.info(
      {
        appKey: 'APPKEY-SECRET',
        headers: { authorization: 'Bearer TOKEN-SECRET' },
        credentials: [{ tokenValue: 'TV-SECRET' }],
        leaseToken: 'LEASE-SECRET',
      },
      'enrolling',
    );
    logger.flush();
    // The file stream is asynchronous: wait for the line to land rather than for a fixed time.
    const text = await waitUntil(
      async () => {
        const content = await readFile(file, 'utf8').catch(() => '');
        return content.includes('"msg":"enrolling"') ? content : undefined;
      },
      5_000,
      'the log line in the file',
      10,
    );
    const line = JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(line['component'], 'enroll');
    assert.equal(line['taskId'], 't-1');
    assert.equal(line['msg'], 'enrolling');
    for (const secret of ['APPKEY-SECRET', 'TOKEN-SECRET', 'TV-SECRET', 'LEASE-SECRET'])
      assert.ok(!text.includes(secret), `${secret} leaked`);
  } finally {
    await dir.remove();
  }
});

test('errors are logged as { err }: type, message, stack and causes, with URL credentials and Redis command arguments kept out', async () => {
  const dir = await tempDir('log-err');
  try {
    const file = `${dir.path}/cp.log`;
    const logger = createRootLogger({ process: 'control-plane', level: 'info', file });
    const cause = new Error('connect ECONNREFUSED redis://:REDIS-PASSWORD@10.0.0.1:6379');
    const err = Object.assign(new Error('request to https://user:URL-SECRET@cp.example/api failed', { cause }), {
      code: 'ECONNRESET',
      command: { name: 'evalsha', args: ['sha', '1', 'key', 'LEASE-TOKEN-ARG'] },
    });
    logger.warn({ err }, 'publish failed');
    logger.flush();
    await new Promise((r) => setTimeout(r, 100));
    const text = await readFile(file, 'utf8');
    const line = JSON.parse(text.trim().split('\n').at(-1)!) as {
      err: { type: string; message: string; stack: string; code: string; command: { name: string; args: unknown } };
    };
    assert.equal(line.err.type, 'Error');
    assert.equal(line.err.code, 'ECONNRESET');
    assert.match(line.err.message, /request to https:\/\/\[redacted\]@cp\.example\/api failed/);
    assert.match(line.err.message, /ECONNREFUSED redis:\/\/\[redacted\]@10\.0\.0\.1:6379/, 'the cause is in the message');
    assert.match(line.err.stack, /publish|request to/);
    assert.deepEqual(line.err.command, { name: 'evalsha', args: '[redacted]' });
    for (const secret of ['REDIS-PASSWORD', 'URL-SECRET', 'LEASE-TOKEN-ARG']) assert.ok(!text.includes(secret), `${secret} leaked`);
  } finally {
    await dir.remove();
  }
});

test('scrubUrlCredentials leaves URLs without credentials alone', () => {
  assert.equal(scrubUrlCredentials('GET https://cp.example:8443/api?x=1 failed'), 'GET https://cp.example:8443/api?x=1 failed');
  assert.equal(scrubUrlCredentials('mongodb+srv://u:p@h/db and redis://r@h'), 'mongodb+srv://[redacted]@h/db and redis://[redacted]@h');
  assert.equal(scrubUrlCredentials('user@example.com wrote'), 'user@example.com wrote');
});
