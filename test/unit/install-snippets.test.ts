/**
 * The install snippets are valid as what they claim to be: the shell ones pass `bash -n`, the
 * compose one passes `docker-compose config -q`, the Kubernetes one runs `--enroll -f k8s` and
 * applies the overlay on deploy/kubernetes (no Helm chart exists here); awkward values (quotes,
 * spaces) are quoted, not pasted raw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { buildInstallSnippets, shellQuote, splitImage } from '../../src/control-plane/snippets.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

const input = {
  controlPlaneUrl: 'https://cp.example.test',
  token: 'par_enroll_AbC-_123',
  runnerName: 'edge-1',
  allowlist: ['com.datadoghq.http.request', 'com.datadoghq.kubernetes.*'],
  modes: ['pull'],
  image: 'registry.example.test:5000/private-action-runner:v1',
};

test('shell snippets pass bash -n and quote what needs quoting', async () => {
  const snippets = buildInstallSnippets(input);
  for (const script of [snippets.dockerRun, snippets.parRunner, snippets.kubernetes]) {
    await run('bash', ['-n', '-c', script]);
  }
  assert.match(snippets.dockerRun, /'ACTIONS_ALLOWLIST=com\.datadoghq\.http\.request,com\.datadoghq\.kubernetes\.\*'/);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('plain-value_1.2'), 'plain-value_1.2');
});

test('the compose snippet passes docker-compose config -q, waits for health and runs par healthcheck', async () => {
  const snippets = buildInstallSnippets(input);
  const dir = await tempDir('snippets');
  try {
    await writeFile(join(dir.path, 'docker-compose.yaml'), snippets.compose);
    const { stderr } = await run('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q'], {
      cwd: dir.path,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    assert.equal(stderr.trim(), '');
  } finally {
    await dir.remove();
  }
  const doc = parse(snippets.compose) as {
    services: Record<string, { depends_on?: Record<string, { condition: string }>; healthcheck?: { test: string[] } }>;
  };
  assert.deepEqual(doc.services['worker']?.depends_on, {
    redis: { condition: 'service_healthy' },
    'private-runner': { condition: 'service_healthy' },
  });
  assert.deepEqual(doc.services['worker'].healthcheck?.test, ['CMD', 'node', '/app/bin/par.js', 'healthcheck', 'worker']);
  assert.deepEqual(doc.services['private-runner']?.healthcheck?.test, ['CMD', 'node', '/app/bin/par.js', 'healthcheck', 'runner']);
  assert.deepEqual(splitImage('private-action-runner'), { repository: 'private-action-runner', tag: 'latest' });
});

test('the Kubernetes snippet enrolls with -f k8s into an overlay on deploy/kubernetes and applies it; no Helm', () => {
  const { kubernetes } = buildInstallSnippets(input);
  assert.match(
    kubernetes,
    /node bin\/par\.js runner --enrollment-token par_enroll_AbC-_123 --enroll -f k8s --output-dir deploy\/overlays\/edge-1/,
  );
  assert.match(kubernetes, /^kubectl apply -k deploy\/overlays\/edge-1$/m);
  assert.match(kubernetes, /PAR_RUNNER_IMAGE=registry\.example\.test:5000\/private-action-runner:v1/);
  assert.doesNotMatch(kubernetes, /helm/i);
  for (const s of Object.values(buildInstallSnippets(input)))
    assert.doesNotMatch(s, /helm|chart/i, 'no snippet names a chart that does not exist');
});
