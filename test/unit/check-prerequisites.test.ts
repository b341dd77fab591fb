/** test/check-prerequisites.mjs, which `npm test` runs first: one sentence naming what is missing and how to get it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from '../../src/cli/local-redis.js';
import { tempDir } from '../helpers/tmp.js';

const SCRIPT = fileURLToPath(new URL('../check-prerequisites.mjs', import.meta.url));
const TOOLS = ['redis-server', 'redis-cli', 'docker-compose', 'kubectl', 'openssl', 'bwrap', 'bash', 'sh'];

function check(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A PATH directory with every tool the suite uses but `left` out. */
async function pathWithout(left: string): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await tempDir('prereq-path');
  for (const tool of TOOLS.filter((t) => t !== left)) {
    const found = await findOnPath(tool);
    assert.ok(found, `${tool} is on this machine's PATH`);
    await symlink(found, join(dir.path, tool));
  }
  return dir;
}

test('on this machine every prerequisite is there: exit 0, nothing printed', async () => {
  const result = await check({});
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout + result.stderr, '');
});

test('a tool missing from PATH: exit 1 and one sentence naming it and the install command', async () => {
  const dir = await pathWithout('openssl');
  try {
    const result = await check({ PATH: dir.path });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'Cannot run the tests: openssl is missing (run `apt-get install -y openssl`).\n');
  } finally {
    await dir.remove();
  }
});

test('Redis not answering and bwrap missing: both named in one sentence, with the commands', async () => {
  // A port that accepts and hangs up at once: not Redis.
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = await pathWithout('bwrap');
  try {
    const result = await check({ PATH: dir.path, PAR_TEST_REDIS_URL: `redis://127.0.0.1:${port}` });
    assert.equal(result.code, 1);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^Cannot run the tests: .*\.$/);
    assert.match(lines[0]!, /bwrap is missing \(run `apt-get install -y bubblewrap`\)/);
    assert.match(lines[0]!, new RegExp(`Redis does not answer at 127\\.0\\.0\\.1:${port} \\(start it with \`redis-server --daemonize yes`));
  } finally {
    await dir.remove();
    await new Promise((resolve) => server.close(resolve));
  }
});
