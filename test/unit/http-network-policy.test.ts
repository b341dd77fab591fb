import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { METADATA_RANGES, NetworkPolicy, type HostResolver } from '../../src/actions/http/network-policy.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { ParError } from '../../src/errors/par-error.js';

const fixed =
  (map: Record<string, string[]>): HostResolver =>
  async (host) =>
    (map[host] ?? []).map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));

describe('http network policy: host allowlist', () => {
  it('an empty allowlist admits every host', () => {
    assert.equal(new NetworkPolicy().checkHost('anything.example'), undefined);
  });

  it('matches exact names, IP literals and globs, case-insensitively, ignoring a trailing dot', () => {
    const p = new NetworkPolicy({ hostAllowlist: ['api.example.com', '*.corp.internal', '10.0.0.7', '::1'] });
    for (const ok of ['api.example.com', 'API.Example.com.', 'a.corp.internal', 'a.b.corp.internal', '10.0.0.7', '[::1]']) {
      assert.equal(p.checkHost(ok), undefined, ok);
    }
    for (const refused of [
      'example.com',
      'corp.internal',
      'evilcorp.internal',
      'a.corp.internal.evil.com',
      '10.0.0.70',
      'api.example.com.evil',
    ]) {
      const err = p.checkHost(refused);
      assert.equal(err?.code, 'PAR_ERR_HTTP_HOST_NOT_ALLOWED', refused);
      assert.equal(err.retryable, false);
    }
  });

  it('glob metacharacters other than * are literal', () => {
    const p = new NetworkPolicy({ hostAllowlist: ['a.b'] });
    assert.equal(p.checkHost('axb')?.code, 'PAR_ERR_HTTP_HOST_NOT_ALLOWED');
  });
});

describe('http network policy: metadata addresses', () => {
  it('blocks the cloud metadata addresses in every spelling, by default', () => {
    const p = new NetworkPolicy();
    assert.ok(METADATA_RANGES.some((r) => r.range === '169.254.0.0/16') && METADATA_RANGES.some((r) => r.range === 'fd00:ec2::/32'));
    for (const a of [
      '169.254.169.254',
      'fd00:ec2::254',
      'FD00:EC2:0:0:0:0:0:254',
      '[fd00:ec2::254]',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '169.254.170.2',
    ]) {
      assert.equal(p.checkAddress('h', a)?.code, 'PAR_ERR_HTTP_ADDRESS_BLOCKED', a);
    }
    for (const a of ['169.253.255.255', '169.255.0.0', '127.0.0.1', '10.0.0.1', 'fd00:ec3::254'])
      assert.equal(p.checkAddress('h', a), undefined, a);
  });

  it('a name resolving to a metadata address is refused after resolution, naming host and address', async () => {
    const p = new NetworkPolicy({ resolver: fixed({ 'innocent.corp': ['10.0.0.5', '169.254.169.254'], 'ok.corp': ['10.0.0.5'] }) });
    await assert.rejects(
      p.resolve('innocent.corp'),
      (e: unknown) =>
        e instanceof ParError &&
        e.code === 'PAR_ERR_HTTP_ADDRESS_BLOCKED' &&
        /innocent\.corp resolves to 169\.254\.169\.254, blocked: in 169\.254\.0\.0\/16/.test(e.message),
    );
    assert.deepEqual(await p.resolve('ok.corp'), [{ address: '10.0.0.5', family: 4 }]);
    await assert.rejects(p.resolve('[fd00:ec2::254]'), (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_ADDRESS_BLOCKED');
  });

  it('PAR_HTTP_ALLOW_METADATA_ADDRESSES lifts the block', async () => {
    const p = new NetworkPolicy({ allowMetadataAddresses: true, resolver: fixed({ m: ['169.254.169.254'] }) });
    assert.equal(p.checkAddress('m', '169.254.169.254'), undefined);
    assert.equal((await p.resolve('m')).length, 1);
  });

  it('the net.connect lookup answers both the single and the `all` form, and fails blocked names', async () => {
    const p = new NetworkPolicy({ resolver: fixed({ two: ['127.0.0.1', '::1'], meta: ['169.254.169.254'] }) });
    const lookup = p.lookupFunction();
    const all = await new Promise<unknown>((resolve, reject) =>
      lookup('two', { all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))),
    );
    assert.deepEqual(all, [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    const six = await new Promise<unknown>((resolve, reject) =>
      lookup('two', { family: 6 }, (err, addr, family) => (err ? reject(err) : resolve([addr, family]))),
    );
    assert.deepEqual(six, ['::1', 6]);
    const blocked = await new Promise<unknown>((resolve) => lookup('meta', { all: true }, (err) => resolve(err)));
    assert.equal((blocked as ParError).code, 'PAR_ERR_HTTP_ADDRESS_BLOCKED');
    const none = await new Promise<unknown>((resolve) => lookup('nowhere', {}, (err) => resolve(err)));
    assert.equal((none as NodeJS.ErrnoException).code, 'ENOTFOUND');
  });
});

describe('http settings in the worker config', () => {
  it('reads the allowlist as a list, the metadata switch as a boolean, the CA bundle path', () => {
    const c = loadWorkerConfig({
      PAR_HTTP_HOST_ALLOWLIST: 'api.example.com, *.corp.internal',
      PAR_HTTP_ALLOW_METADATA_ADDRESSES: 'true',
      PAR_HTTP_CA_BUNDLE_FILE: 'ca.pem',
    });
    assert.deepEqual(c.httpHostAllowlist, ['api.example.com', '*.corp.internal']);
    assert.equal(c.httpAllowMetadataAddresses, true);
    assert.equal(c.httpCaBundleFile, 'ca.pem');
    const d = loadWorkerConfig({});
    assert.deepEqual([d.httpHostAllowlist, d.httpAllowMetadataAddresses, d.httpCaBundleFile], [[], false, undefined]);
  });

  it('a malformed boolean names the setting', () => {
    assert.throws(
      () => loadWorkerConfig({ PAR_HTTP_ALLOW_METADATA_ADDRESSES: 'maybe' }),
      (e: unknown) =>
        e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && e.message.includes('PAR_HTTP_ALLOW_METADATA_ADDRESSES'),
    );
  });
});
