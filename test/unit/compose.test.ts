import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('docker-compose.yaml passes `docker-compose config -q` with no variables set', async () => {
  const env = { PATH: process.env['PATH'] ?? '' };
  const { stderr } = await promisify(execFile)('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q'], { cwd: root, env });
  assert.equal(stderr.trim(), '');
});

test('compose runs Redis with AOF and noeviction, three worker replicas, and health checks everywhere', async () => {
  const doc = parse(await readFile(`${root}docker-compose.yaml`, 'utf8')) as { services: Record<string, { command?: string[]; deploy?: { replicas?: number }; healthcheck?: unknown; ports?: string[] }> };
  const { redis, worker, runner } = doc.services;
  assert.ok(redis && worker && runner && doc.services['control-plane']);
  const redisCmd = (redis.command ?? []).join(' ');
  assert.match(redisCmd, /--appendonly yes/);
  assert.match(redisCmd, /--maxmemory-policy noeviction/);
  assert.equal(worker.deploy?.replicas, 3);
  for (const [name, svc] of Object.entries(doc.services)) assert.ok(svc.healthcheck, `${name} has a healthcheck`);
  for (const port of runner.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, 'the runner admin port is published on loopback only');
});
