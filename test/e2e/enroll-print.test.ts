/**
 * End to end: `par runner --with-api-key --enroll -f env|compose` enrolls and prints
 * the runner config, and only that, on stdout (logs on stderr), writes no config.yaml, and a
 * runner started from the printed env config (PAR_RUNNER_IDENTITY) runs as the same runner
 * without enrolling again. `-f k8s` writes a Kustomize overlay that renders on deploy/kubernetes;
 * `-f helm-values` is refused (there is no chart) before anything is enrolled.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { freePort } from '../../src/cli/local-redis.js';
import { runnerIdentitySchema, type RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { PAR_BIN, startPar, type ParProcess } from '../helpers/processes.js';
import { releaseTestResources, startControlPlaneProcess, waitForHttpOk } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

interface Printed {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `par` to completion with stdout and stderr kept apart (bounded by a timeout). */
function runPar(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Printed> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [PAR_BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    proc.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`par ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    assert.ok(m, `not a KEY=value line: ${line.slice(0, 80)}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

function identityFromBase64(b64: string): RunnerIdentity {
  return runnerIdentitySchema.parse(parseYaml(Buffer.from(b64, 'base64').toString('utf8')));
}

describe('par runner --enroll -f prints the runner config (real processes)', () => {
  const base = uniquePrefix('e2e-enroll-print');
  const keys = { apiKey: randomBytes(16).toString('hex'), appKey: randomBytes(20).toString('hex') };
  const processes: ParProcess[] = [];
  const dirs: { path: string; remove(): Promise<void> }[] = [];
  let cpUrl = '';

  const newDir = async (): Promise<string> => {
    const dir = await tempDir('enroll-print');
    dirs.push(dir);
    return dir.path;
  };
  const enrollPrint = async (format: string, configDir: string): Promise<{ out: Printed; name: string }> => {
    const name = `print-${format}-${randomBytes(3).toString('hex')}`;
    const out = await runPar(['runner', '--with-api-key', '--enroll', '-f', format], {
      DD_BASE_URL: cpUrl,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: name,
      ACTIONS_ALLOWLIST: 'com.datadoghq.http.request',
      DD_PRIVATE_RUNNER_CONFIG_DIR: configDir,
      PAR_LOG_LEVEL: 'info',
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /runner enrolled/, 'logs go to stderr');
    assert.deepEqual(await readdir(configDir), [], 'no config.yaml written');
    assert.ok(!out.stdout.includes('"level"'), 'no log line on stdout');
    return { out, name };
  };

  before(async () => {
    const cp = await startControlPlaneProcess(base, keys);
    processes.push(cp.proc);
    cpUrl = cp.url;
  });

  after(() => releaseTestResources(processes, base, dirs));

  it('-f k8s writes a Kustomize overlay (identity Secret, allowlist Role) that renders on deploy/kubernetes', async () => {
    const overlay = join(await newDir(), 'overlay');
    const name = `print-k8s-${randomBytes(3).toString('hex')}`;
    const env = {
      DD_BASE_URL: cpUrl,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: name,
      ACTIONS_ALLOWLIST: 'com.datadoghq.kubernetes.core.getPod,com.datadoghq.kubernetes.core.listPod',
      DD_PRIVATE_RUNNER_CONFIG_DIR: await newDir(),
      PAR_LOG_LEVEL: 'info',
    };
    const out = await runPar(['runner', '--with-api-key', '--enroll', '-f', 'k8s', '--output-dir', overlay], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /kubectl apply -k /);
    assert.doesNotMatch(out.stdout, /PAR_RUNNER_IDENTITY|"d":/, 'the private key is in the file, not on stdout');
    assert.equal((await stat(join(overlay, 'runner-identity.yaml'))).mode & 0o777, 0o600);
    const { stdout } = await promisify(execFile)('kubectl', ['kustomize', overlay], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
    });
    const objects = parseAllDocuments(stdout).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string };
          stringData?: Record<string, string>;
          rules?: unknown;
          data?: Record<string, string>;
        },
    );
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'par-runner-identity');
    const identity = identityFromBase64(secret?.stringData?.['PAR_RUNNER_IDENTITY'] ?? '');
    assert.equal(identity.runnerName, name);
    assert.equal(identity.ddBaseURL, cpUrl);
    assert.deepEqual(objects.find((o) => o.kind === 'Role')?.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
    assert.equal(objects.find((o) => o.kind === 'ConfigMap')?.data?.['DD_BASE_URL'], cpUrl);

    // Never over an existing overlay, and the refusal comes before a runner is enrolled.
    const again = await runPar(['runner', '--with-api-key', '--enroll', '-f', 'k8s', '--output-dir', overlay], {
      ...env,
      RUNNER_NAME: `${name}-again`,
    });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /PAR_ERR_CONFIG_INVALID: .*-f k8s: .* already holds an overlay/);
    assert.doesNotMatch(again.stderr, /runner enrolled/);
  });

  it('-f helm-values is refused (no chart here), naming the formats that exist, before enrolling', async () => {
    const out = await runPar(['runner', '--with-api-key', '--enroll', '-f', 'helm-values'], {
      DD_BASE_URL: cpUrl,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: 'never-made-helm',
    });
    assert.equal(out.code, 1);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /PAR_ERR_CONFIG_INVALID: .*-f helm-values: there is no Helm chart in this repository; use -f k8s/);
  });

  it('-f compose prints a compose service carrying the identity as PAR_RUNNER_IDENTITY', async () => {
    const { out, name } = await enrollPrint('compose', await newDir());
    const doc = parseYaml(out.stdout) as {
      services: Record<string, { image: string; command: string[]; environment: Record<string, string> }>;
    };
    const service = doc.services['private-runner'];
    assert.ok(service, 'a private-runner service');
    assert.equal(service.image, 'private-action-runner:local');
    assert.equal(service.environment['DD_BASE_URL'], cpUrl);
    const identity = identityFromBase64(service.environment['PAR_RUNNER_IDENTITY'] ?? '');
    assert.equal(identity.runnerName, name);
    // Valid for docker-compose itself.
    const dir = await newDir();
    await writeFile(join(dir, 'docker-compose.yaml'), out.stdout);
    const checked = await promisify(execFile)('docker-compose', ['-f', 'docker-compose.yaml', 'config', '-q'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    assert.equal(checked.stderr.trim(), '');
  });

  it('-f env prints KEY=value lines; a runner started from them is the same runner, without enrolling again', async () => {
    const { out, name } = await enrollPrint('env', await newDir());
    const printed = parseEnvFile(out.stdout);
    assert.equal(printed['DD_BASE_URL'], cpUrl);
    assert.equal(printed['RUNNER_NAME'], name);
    assert.equal(printed['ACTIONS_ALLOWLIST'], 'com.datadoghq.http.request');
    const identity = identityFromBase64(printed['PAR_RUNNER_IDENTITY'] ?? '');

    // Start from the printed env only: no keys, an empty config dir (the image's own, unmounted).
    const configDir = await newDir();
    const adminPort = await freePort();
    const runner = startPar('runner-from-env', ['runner'], {
      ...printed,
      DD_PRIVATE_RUNNER_CONFIG_DIR: configDir,
      REDIS_URL: TEST_REDIS_URL,
      PAR_QUEUE_PREFIX: `${base}:q`,
      PAR_RUNNER_ADMIN_PORT: String(adminPort),
      PAR_HEALTH_INTERVAL_MS: '200',
      PAR_POLL_WAIT_MS: '1000',
    });
    processes.push(runner);
    await waitForHttpOk(`http://127.0.0.1:${adminPort}/readyz`, 30_000, runner);
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`);
    const checks = (await ready.body.json()) as { checks: { enrolled: { detail?: string } } };
    assert.equal(checks.checks.enrolled.detail, identity.runnerId, 'runs as the printed runner');
    assert.doesNotMatch(runner.output(), /enrolling runner/, 'did not enroll again');
    // Only the runner's own audit log (audit/) is written there; no identity file.
    assert.deepEqual(
      (await readdir(configDir)).filter((f) => f !== 'audit'),
      [],
      'still no config.yaml',
    );

    // The control plane sees that runner (one runner of that name) reporting health.
    let listed: { id: string; name: string; status?: string }[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await request(`${cpUrl}/api/v1/runners`, { headers: { 'dd-application-key': keys.appKey } });
      listed = ((await res.body.json()) as { runners: { id: string; name: string; status?: string }[] }).runners.filter(
        (r) => r.name === name,
      );
      if (listed[0]?.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.id, identity.runnerId);
    assert.equal(listed[0].status, 'ready');

    // A worker started from the same printed env (no config.yaml either) runs a task for it: it
    // verifies the signature with the control-plane keys pinned in PAR_RUNNER_IDENTITY.
    processes.push(
      startPar('worker-from-env', ['worker'], {
        ...printed,
        DD_PRIVATE_RUNNER_CONFIG_DIR: configDir,
        REDIS_URL: TEST_REDIS_URL,
        PAR_QUEUE_PREFIX: `${base}:q`,
      }),
    );
    const headers = { 'dd-application-key': keys.appKey, 'content-type': 'application/json' };
    const submitted = await request(`${cpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        runner: identity.runnerId,
        action: 'com.datadoghq.http.request',
        inputs: { verb: 'GET', url: `${cpUrl}/healthz` },
      }),
    });
    const task = (await submitted.body.json()) as { id: string };
    assert.equal(submitted.statusCode, 201, JSON.stringify(task));
    const done = await request(`${cpUrl}/api/v1/tasks/${task.id}?wait=20000`, { headers: { 'dd-application-key': keys.appKey } });
    const view = (await done.body.json()) as { state: string; outcome?: unknown };
    assert.equal(view.state, 'succeeded', JSON.stringify(view));
  });

  it('--enroll without -f is refused before anything is enrolled', async () => {
    const out = await runPar(['runner', '--with-api-key', '--enroll'], {
      DD_BASE_URL: cpUrl,
      DD_API_KEY: keys.apiKey,
      DD_APP_KEY: keys.appKey,
      RUNNER_NAME: 'never-made',
    });
    assert.notEqual(out.code, 0);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /--enroll needs -f k8s\|compose\|env/);
  });
});
