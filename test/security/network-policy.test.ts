/**
 * Hostile corpus, family "network policy by range" (issue 7), through the real processes. Every
 * blocked target is a literal address (or the metadata host name), so the worker refuses it in
 * its connect hook before a socket exists (test/unit/http-address-policy.test.ts proves that on
 * the same dispatchers): no packet leaves loopback. Redirects come from a loopback target that
 * records every request; a redirect to a blocked address must be refused before connecting.
 * The last cases swap in a worker with PAR_HTTP_DENY_LOOPBACK=true: the loopback target is then
 * refused and receives nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskView } from '../../src/contracts/tasks-api.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const TOKEN = 'netpolicy-corpus-token-3e9b7d1f5a';
const SECRETS = secretForms(TOKEN);

/** Literal targets, each in a blocked range, in the spellings an attacker would try. */
const BLOCKED_URLS: ReadonlyArray<readonly [string, RegExp]> = [
  ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', /169\.254\.0\.0\/16/],
  ['http://2852039166/latest/meta-data/', /169\.254\.169\.254, blocked: in 169\.254\.0\.0\/16/],
  ['http://0251.0376.0251.0376/', /169\.254\.0\.0\/16/],
  ['http://169.254.170.2/v2/credentials/', /169\.254\.0\.0\/16/],
  ['http://169.254.170.23/v1/credentials', /169\.254\.0\.0\/16/],
  ['http://169.254.0.23/', /169\.254\.0\.0\/16/],
  ['http://[fd00:ec2::254]/latest/meta-data/', /fd00:ec2::\/32/],
  ['http://[fd00:ec2::23]/v1/credentials', /fd00:ec2::\/32/],
  ['http://[::ffff:169.254.169.254]/', /ipv4-mapped 169\.254\.169\.254/],
  ['http://[::a9fe:a9fe]/', /ipv4-compatible 169\.254\.169\.254/],
  ['http://[64:ff9b::a9fe:a9fe]/', /nat64 169\.254\.169\.254/],
  ['http://[2002:a9fe:a9fe::1]/', /6to4 169\.254\.169\.254/],
  ['http://[2001:0:4136:e378:8000:63bf:5601:5601]/', /teredo 169\.254\.169\.254/],
  ['http://[fe80::1]/', /fe80::\/10/],
  ['http://168.63.129.16/machine?comp=goalstate', /168\.63\.129\.16\/32/],
  ['http://100.100.100.200/latest/meta-data/', /100\.100\.100\.200\/32/],
  ['http://192.0.0.192/opc/v1/instance/', /192\.0\.0\.192\/32/],
  ['http://metadata.google.internal/computeMetadata/v1/', /metadata\.google\.internal is a cloud metadata host name/],
];

describe('security corpus: network policy by range', () => {
  let system: System;
  let target: TargetServer;
  let port: string;
  let connection: string;
  /** The default worker, once replaced: its log is still checked at the end. */
  let retired: { output(): string } | undefined;

  const redirect = (location: string) => (_req: IncomingMessage, res: ServerResponse) => {
    res.statusCode = 302;
    res.setHeader('location', location);
    res.end();
  };

  before(async () => {
    target = await startTargetServer();
    port = new URL(target.url).port;
    target.route('/to-imds', redirect('http://169.254.169.254/latest/meta-data/iam/security-credentials/'));
    target.route('/to-mapped', redirect('http://[::ffff:a9fe:a9fe]/latest/'));
    target.route('/to-nat64-eks', redirect('http://[64:ff9b::a9fe:aa17]/v1/credentials'));
    target.route('/to-hex', redirect('http://0xa9fea9fe/latest/'));
    target.route('/to-gcp-name', redirect('http://metadata.google.internal/computeMetadata/v1/'));
    // 0.0.0.0 reaches the runner's own host on Linux: were it followed, this target would see a second request.
    target.route('/to-zero', redirect(`http://0.0.0.0:${port}/health`));
    target.route('/hop', redirect('/to-imds'));

    system = await startSystem({ allowlist: 'com.datadoghq.http.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    await writeFile(
      join(system.configDir, 'credentials', 'token.json'),
      JSON.stringify({ auth_type: 'Token Auth', credentials: [{ tokenName: 'api', tokenValue: TOKEN }] }),
    );
    connection = await system.createConnection({
      integration: 'http',
      name: 'loopback-service',
      credentialPath: 'credentials/token.json',
      settings: { baseUrl: target.url, headers: [{ key: 'Authorization', value: 'Bearer {{ api }}' }] },
    });
  });

  after(async () => {
    await system.stop();
    await target.close();
  });

  async function run(action: 'request' | 'testConnection', inputs: Record<string, unknown>, connectionId?: string): Promise<TaskView> {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.http.${action}`,
      inputs,
      timeoutMs: 15_000,
      ...(connectionId ? { connectionId } : {}),
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assertNoSecretIn(done, SECRETS, `task ${task.id}`);
    return done;
  }

  /** A task refused by the policy: the code, the range in the message, and `expectTarget` new requests at the target. */
  async function blocked(inputs: Record<string, unknown>, pattern: RegExp, expectTarget: number, connectionId?: string): Promise<void> {
    const seen = target.requests.length;
    const done = await run('request', inputs, connectionId);
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_HTTP_ADDRESS_BLOCKED', JSON.stringify(done.outcome?.error));
    assert.equal(done.outcome.error.retryable, false);
    assert.equal(done.attempts, 1);
    assert.match(done.outcome.error.message, pattern);
    assert.equal(target.requests.length - seen, expectTarget, 'requests the loopback target received');
  }

  for (const [url, pattern] of BLOCKED_URLS) {
    it(`refuses ${url} before connecting`, async () => {
      await blocked({ url, timeout: 5_000 }, pattern, 0);
    });
  }

  it('refuses 0.0.0.0 (this network) even where it would reach a loopback service', async () => {
    await blocked({ url: `http://0.0.0.0:${port}/health` }, /0\.0\.0\.0\/8/, 0);
    await blocked({ url: `http://0:${port}/health` }, /0\.0\.0\.0\/8/, 0);
  });

  it('a redirect from the loopback service to 169.254.169.254 is refused before connecting', async () => {
    await blocked(
      { url: `${target.url}/to-imds`, followRedirect: true, timeout: 5_000 },
      /169\.254\.169\.254, blocked: in 169\.254\.0\.0\/16/,
      1,
    );
  });

  it('redirects to wrapped, hex and named metadata targets are refused', async () => {
    await blocked({ url: `${target.url}/to-mapped`, followRedirect: true, timeout: 5_000 }, /ipv4-mapped 169\.254\.169\.254/, 1);
    await blocked({ url: `${target.url}/to-nat64-eks`, followRedirect: true, timeout: 5_000 }, /nat64 169\.254\.170\.23/, 1);
    await blocked({ url: `${target.url}/to-hex`, followRedirect: true, timeout: 5_000 }, /169\.254\.169\.254/, 1);
    await blocked({ url: `${target.url}/to-gcp-name`, followRedirect: true, timeout: 5_000 }, /metadata\.google\.internal/, 1);
  });

  it('a redirect to 0.0.0.0 is refused: the service sees the first request only', async () => {
    await blocked({ url: `${target.url}/to-zero`, followRedirect: true }, /0\.0\.0\.0\/8/, 1);
  });

  it('a connection with credentials redirected (two hops) to the metadata address is refused; the token went only to the service', async () => {
    const seen = target.requests.length;
    await blocked({ url: '/hop', followRedirect: true, timeout: 5_000 }, /169\.254\.0\.0\/16/, 2, connection);
    assert.deepEqual(
      target.requests.slice(seen).map((r) => [r.url, r.headers['authorization']]),
      [
        ['/hop', `Bearer ${TOKEN}`],
        ['/to-imds', `Bearer ${TOKEN}`],
      ],
    );
  });

  it('testConnection answers reachable: false with the policy code', async () => {
    const done = await run('testConnection', { url: 'http://[fd00:ec2::254]/', timeout: 5_000 });
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const output = done.outcome?.output as { reachable: boolean; error?: { code: string } };
    assert.deepEqual([output.reachable, output.error?.code], [false, 'PAR_ERR_HTTP_ADDRESS_BLOCKED']);
  });

  it('loopback stays reachable by default, in any spelling', async () => {
    for (const url of [`${target.url}/health`, `http://127.1:${port}/health`, `http://2130706433:${port}/health`]) {
      const seen = target.requests.length;
      const done = await run('request', { url, errorOnStatus: ['400-599'] });
      assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
      assert.equal(target.requests.length - seen, 1, url);
    }
  });

  describe('with PAR_HTTP_DENY_LOOPBACK=true', () => {
    before(async () => {
      // The default worker leaves; one with the setting takes its place (same queue, same config dir).
      const old = system.workers[0]!;
      await old.stop('SIGTERM', 10_000);
      system.workers.splice(0, 1);
      retired = old;
      const worker = system.startWorker({ PAR_HTTP_DENY_LOOPBACK: 'true' });
      await worker.waitForOutput(/"msg":"worker ready"/, 30_000);
    });

    it('the loopback service is refused by address, name and wrapped form, and receives nothing', async () => {
      await blocked({ url: `${target.url}/health` }, /127\.0\.0\.0\/8/, 0);
      await blocked({ url: `http://2130706433:${port}/health` }, /127\.0\.0\.0\/8/, 0);
      await blocked({ url: `http://[::ffff:127.0.0.1]:${port}/health` }, /ipv4-mapped 127\.0\.0\.1/, 0);
      await blocked({ url: `http://[::1]:${port}/health` }, /::1\/128/, 0);
    });

    it('a name resolving to loopback is refused after DNS, before connecting', async () => {
      await blocked({ url: `http://localhost:${port}/health` }, /localhost resolves to .*(127\.0\.0\.0\/8|::1\/128)/, 0);
    });

    it('a connection to a loopback service is refused too: the token goes nowhere', async () => {
      await blocked({ url: '/health' }, /127\.0\.0\.0\/8/, 0, connection);
    });

    it('metadata addresses stay blocked', async () => {
      await blocked({ url: 'http://169.254.169.254/', timeout: 5_000 }, /169\.254\.0\.0\/16/, 0);
    });
  });

  it('leaves no credential in Redis, logs or results, and every process healthy', async () => {
    assert.ok(retired, 'the default worker was replaced');
    assertNoSecretIn(retired.output(), SECRETS, 'the replaced worker log');
    await assertNothingLeaked(system, SECRETS);
  });
});
