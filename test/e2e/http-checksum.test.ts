/**
 * `http.getChecksumFromURL` and `http.request`'s `responseEncoding` through the whole system:
 * real control plane, runner and worker processes, a loopback target serving an artifact and a
 * binary image. Expected checksums are computed here over the served bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const ARTIFACT = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + 7) % 256));
const ICON = Buffer.from([0x00, 0x00, 0x01, 0x00, 0xfe, 0xff, 0x10]);

describe('http checksum and response encoding end to end', () => {
  let system: System;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    target.route('/releases/agent.tar.gz', (_req, res) => {
      res.setHeader('content-type', 'application/gzip');
      res.end(ARTIFACT);
    });
    target.route('/favicon.ico', (_req, res) => {
      res.setHeader('content-type', 'image/x-icon');
      res.end(ICON);
    });
    target.route('/missing', (_req, res) => {
      res.statusCode = 404;
      res.end('no');
    });
    system = await startSystem({ workers: 1, allowlist: 'com.datadoghq.http.getChecksumFromURL,com.datadoghq.http.request' });
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  const runTask = async (action: string, inputs: Record<string, unknown>) => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.http.${action}`,
      inputs,
      timeoutMs: 10_000,
    });
    return system.api.waitForTask(task.id, 20_000);
  };

  test('getChecksumFromURL returns the sha256 (default) and sha512/base64 of the served bytes; a 404 fails', async () => {
    const [plain, strong, missing] = await Promise.all([
      runTask('getChecksumFromURL', { url: `${target.url}/releases/agent.tar.gz` }),
      runTask('getChecksumFromURL', { url: `${target.url}/releases/agent.tar.gz`, algorithm: 'SHA512', digest: 'base64' }),
      runTask('getChecksumFromURL', { url: `${target.url}/missing` }),
    ]);
    assert.equal(plain.state, 'succeeded', JSON.stringify(plain.outcome));
    assert.deepEqual(plain.outcome?.output, { checksum: createHash('sha256').update(ARTIFACT).digest('hex') });
    assert.deepEqual(strong.outcome?.output, { checksum: createHash('sha512').update(ARTIFACT).digest('base64') });
    assert.equal(missing.state, 'failed');
    assert.equal(missing.outcome?.error?.code, 'PAR_ERR_HTTP_STATUS');
  });

  test('request: an image body comes back base64 unless responseEncoding says otherwise', async () => {
    const [inferred, hex] = await Promise.all([
      runTask('request', { url: `${target.url}/favicon.ico` }),
      runTask('request', { url: `${target.url}/favicon.ico`, responseEncoding: 'hex' }),
    ]);
    assert.equal(inferred.state, 'succeeded', JSON.stringify(inferred.outcome));
    assert.equal((inferred.outcome?.output as { body: string }).body, ICON.toString('base64'));
    assert.equal((hex.outcome?.output as { body: string }).body, ICON.toString('hex'));
  });
});
