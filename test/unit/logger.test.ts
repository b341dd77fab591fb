import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRootLogger } from '../../src/logging/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

test('the logger redacts secrets centrally and writes JSON lines to the optional log file', async () => {
  const dir = await tempDir('log');
  try {
    const file = `${dir.path}/runner.log`;
    const logger = createRootLogger({ process: 'runner', level: 'info', file });
    const child = logger.child({ component: 'enroll' }).child({ taskId: 't-1' });
    child.info({ appKey: 'APPKEY-SECRET', headers: { authorization: 'Bearer TOKEN-SECRET' }, credentials: [{ tokenValue: 'TV-SECRET' }], leaseToken: 'LEASE-SECRET' }, 'enrolling');
    logger.flush();
    // The file stream is asynchronous: wait for the line to land rather than for a fixed time.
    const text = await waitUntil(async () => {
      const content = await readFile(file, 'utf8').catch(() => '');
      return content.includes('"msg":"enrolling"') ? content : undefined;
    }, 5_000, 'the log line in the file', 10);
    const line = JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(line['component'], 'enroll');
    assert.equal(line['taskId'], 't-1');
    assert.equal(line['msg'], 'enrolling');
    for (const secret of ['APPKEY-SECRET', 'TOKEN-SECRET', 'TV-SECRET', 'LEASE-SECRET']) assert.ok(!text.includes(secret), `${secret} leaked`);
  } finally {
    await dir.remove();
  }
});
