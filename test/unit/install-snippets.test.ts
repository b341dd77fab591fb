/**
 * The install snippets are valid as what they claim to be: the shell ones pass `bash -n`, the
 * compose one passes `docker-compose config -q`, the Helm values parse as YAML; awkward values
 * (quotes, spaces) are quoted, not pasted raw.
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
  for (const script of [snippets.dockerRun, snippets.parRunner]) {
    await run('bash', ['-n', '-c', script]);
  }
  assert.match(snippets.dockerRun, /'ACTIONS_ALLOWLIST=com\.datadoghq\.http\.request,com\.datadoghq\.kubernetes\.\*'/);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('plain-value_1.2'), 'plain-value_1.2');
});

test('the compose snippet passes docker-compose config -q; the Helm values parse', async () => {
  const snippets = buildInstallSnippets(input);
  const dir = await tempDir('snippets');
  try {
    await writeFile(join(dir.path, 'docker-compose.yaml'), snippets.compose);
    const { stderr } = await run('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q'], { cwd: dir.path, env: { PATH: process.env['PATH'] ?? '' } });
    assert.equal(stderr.trim(), '');
  } finally {
    await dir.remove();
  }
  const values = parse(snippets.helmValues) as { image: unknown; runner: { enrollmentToken: string } };
  assert.deepEqual(values.image, { repository: 'registry.example.test:5000/private-action-runner', tag: 'v1' });
  assert.equal(values.runner.enrollmentToken, input.token);
  assert.deepEqual(splitImage('private-action-runner'), { repository: 'private-action-runner', tag: 'latest' });
});
