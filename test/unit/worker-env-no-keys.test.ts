/**
 * Workers get no API or app key (issue 7): every place that starts workers — docker-compose.yaml,
 * `par dev`, the install snippets — gives them none of the names a worker must not hold.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { devWorkerEnv } from '../../src/cli/dev-orchestrator.js';
import { buildInstallSnippets } from '../../src/control-plane/snippets.js';
import { WORKER_FORBIDDEN_ENV } from '../../src/config/worker-secrets.js';

function assertNoForbidden(names: Iterable<string>, where: string): void {
  for (const name of names) assert.ok(!(WORKER_FORBIDDEN_ENV as readonly string[]).includes(name), `${where} gives a worker ${name}`);
}

describe('workers get no keys', () => {
  it('docker-compose.yaml: the worker service has no key in its environment (the runner does)', async () => {
    const doc = parse(await readFile(new URL('../../docker-compose.yaml', import.meta.url), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, unknown> }>;
    };
    const worker = doc.services['worker']?.environment;
    assert.ok(worker && 'REDIS_URL' in worker, 'the worker service has its settings');
    assertNoForbidden(Object.keys(worker), 'docker-compose.yaml');
    // The check can fail: the runner service does hold the keys.
    assert.ok('DD_API_KEY' in (doc.services['runner']?.environment ?? {}));
  });

  it("par dev: the workers' own environment holds no key", () => {
    const env = devWorkerEnv({
      queuePrefix: 'par:local',
      configDir: '/tmp/x',
      redisUrl: 'redis://127.0.0.1:6379',
      allowlist: 'com.datadoghq.http.*',
    });
    assertNoForbidden(Object.keys(env), 'par dev');
    assert.equal(env['REDIS_URL'], 'redis://127.0.0.1:6379');
  });

  it('install snippets: worker lines and services carry no key or token', () => {
    const s = buildInstallSnippets({
      controlPlaneUrl: 'http://cp:7700',
      token: 'tok-123456789',
      runnerName: 'r',
      allowlist: ['com.datadoghq.http.*'],
      modes: ['pull'],
      image: 'par:local',
    });
    const workerLines = [...s.dockerRun.split('\n'), ...s.parRunner.split('\n')].filter((l) => /\bworker\b/.test(l) && !l.startsWith('#'));
    assert.ok(workerLines.length >= 2);
    for (const line of workerLines)
      assertNoForbidden(
        WORKER_FORBIDDEN_ENV.filter((n) => line.includes(n)),
        'a snippet worker line',
      );
    for (const line of workerLines) assert.doesNotMatch(line, /tok-123456789/);
    const compose = parse(s.compose) as { services: Record<string, { environment?: Record<string, unknown> }> };
    assertNoForbidden(Object.keys(compose.services['worker']?.environment ?? {}), 'the compose snippet');
  });
});
