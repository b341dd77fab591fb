/**
 * One task's full round trip through real processes: control plane, runner, two workers, Redis,
 * and a local HTTP service standing for something inside the private network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { PAR_BIN } from '../helpers/processes.js';

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PAR_BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('round trip', () => {
  let system: System;
  let target: TargetServer;

  before(async () => {
    target = await startTargetServer();
    target.route('/echo', (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-served-by', 'target');
      res.end(JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers['x-custom'] ?? null }));
    });
    system = await startSystem({ workers: 2 });
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  test('an http.request task submitted through the API returns the service status, headers and body', async () => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.request',
      inputs: {
        verb: 'POST',
        url: `${target.url}/echo`,
        urlParams: { q: 'a b' },
        requestHeaders: { 'x-custom': 'yes' },
        body: { hello: 'world' },
      },
      timeoutMs: 10_000,
    });
    assert.equal(task.state, 'queued');
    const done = await system.api.waitForTask(task.id, 20_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const output = done.outcome?.output as {
      status: number;
      headers: Record<string, unknown>;
      body: { method: string; url: string; body: string; auth: string };
    };
    assert.equal(output.status, 200);
    assert.equal(output.headers['x-served-by'], 'target');
    assert.equal(output.body.method, 'POST');
    assert.equal(output.body.url, '/echo?q=a+b');
    assert.deepEqual(JSON.parse(output.body.body), { hello: 'world' });
    assert.equal(output.body.auth, 'yes');
  });

  test('`par task run --wait` prints the result', async () => {
    const { code, stdout, stderr } = await runCli(
      [
        'task',
        'run',
        '--action',
        'com.datadoghq.http.request',
        '--runner',
        system.runnerName,
        '--input',
        JSON.stringify({ verb: 'GET', url: `${target.url}/health` }),
        '--wait',
      ],
      { DD_BASE_URL: system.cpUrl, DD_APP_KEY: system.keys.appKey },
    );
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as { status: number; headers: Record<string, string>; body: unknown };
    assert.equal(result.status, 200);
    assert.deepEqual(result.body, { ok: true });
    assert.match(String(result.headers['content-type']), /application\/json/);
  });

  test('a non-allowlisted action comes back as a clear failure and never runs', async () => {
    const before = target.requests.length;
    const { code, stderr } = await runCli(
      // http.testConnection is inherited from http.request (vendor semantics): a bundle the runner does not allow at all.
      [
        'task',
        'run',
        '--action',
        'com.datadoghq.script.runPredefinedScript',
        '--runner',
        system.runnerName,
        '--input',
        JSON.stringify({ scriptName: 'anything' }),
        '--wait',
      ],
      { DD_BASE_URL: system.cpUrl, DD_APP_KEY: system.keys.appKey },
    );
    assert.equal(code, 1);
    assert.match(stderr, /PAR_ERR_ACTION_NOT_ALLOWLISTED/);
    assert.equal(target.requests.length, before, 'the target service must not see a request');
  });

  test('no key reaches any process log', async () => {
    const { readFile } = await import('node:fs/promises');
    const identity = await readFile(`${system.configDir}/config.yaml`, 'utf8');
    const privateD = /\bd: (\S+)/.exec(identity)?.[1];
    assert.ok(privateD, 'config.yaml holds the private key');
    const logs = [system.cp, system.runner, ...system.workers].map((p) => p.output()).join('\n');
    assert.ok(logs.length > 0);
    for (const secret of [system.keys.apiKey, system.keys.appKey, privateD])
      assert.ok(!logs.includes(secret), 'a secret appeared in the logs');
  });
});
