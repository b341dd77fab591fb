/**
 * The network policy's decision function over many spellings of each address family: ranges,
 * IPv6-wrapped IPv4 (mapped, compatible, translated, NAT64, 6to4, Teredo), the IPv4 number forms
 * the WHATWG URL parser accepts, and IPv6 text forms. Then, on the bundle's real dispatchers, that
 * a blocked target is refused before any socket is opened (literal addresses) or before connect
 * (names resolving to blocked addresses through an injected resolver): no packet leaves loopback.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { ActionContext } from '../../src/actions/action.js';
import { createHttpBundle } from '../../src/actions/http/bundle.js';
import { embeddedIpv4, formatIp, parseIp } from '../../src/actions/http/ip-address.js';
import { NetworkPolicy, type HostResolver } from '../../src/actions/http/network-policy.js';
import { loadWorkerConfig } from '../../src/config/worker.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';

const byDefault = new NetworkPolicy();
const denyLoopback = new NetworkPolicy({ denyLoopback: true });
const allowMetadata = new NetworkPolicy({ allowMetadataAddresses: true });

/** [spelling, the range expected to match]: blocked by default. */
const BLOCKED: ReadonlyArray<readonly [string, string]> = [
  // 169.254.0.0/16: every cloud's IMDS, ECS, EKS pod identity, Tencent, and the rest of the range
  ['169.254.169.254', '169.254.0.0/16'],
  ['169.254.170.2', '169.254.0.0/16'],
  ['169.254.170.23', '169.254.0.0/16'],
  ['169.254.0.23', '169.254.0.0/16'],
  ['169.254.0.0', '169.254.0.0/16'],
  ['169.254.255.255', '169.254.0.0/16'],
  // single cloud endpoints outside link-local
  ['168.63.129.16', '168.63.129.16/32'],
  ['100.100.100.200', '100.100.100.200/32'],
  ['192.0.0.192', '192.0.0.192/32'],
  // this network
  ['0.0.0.0', '0.0.0.0/8'],
  ['0.1.2.3', '0.0.0.0/8'],
  ['::', '::/128'],
  ['0:0:0:0:0:0:0:0', '::/128'],
  // IPv6 ranges, every text form
  ['fd00:ec2::254', 'fd00:ec2::/32'],
  ['fd00:ec2::23', 'fd00:ec2::/32'],
  ['FD00:EC2:0:0:0:0:0:254', 'fd00:ec2::/32'],
  ['fd00:0ec2:0000:0000:0000:0000:0000:0254', 'fd00:ec2::/32'],
  ['[fd00:ec2::254]', 'fd00:ec2::/32'],
  ['fd00:ec2:ffff::1', 'fd00:ec2::/32'],
  ['fe80::1', 'fe80::/10'],
  ['fe80::1%eth0', 'fe80::/10'],
  ['[fe80::a9fe:a9fe%25lo]', 'fe80::/10'],
  ['febf:ffff::1', 'fe80::/10'],
  ['FE80::', 'fe80::/10'],
  // IPv4 wrapped in IPv6
  ['::ffff:169.254.169.254', '169.254.0.0/16'],
  ['::ffff:a9fe:a9fe', '169.254.0.0/16'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', '169.254.0.0/16'],
  ['::FFFF:A9FE:AA17', '169.254.0.0/16'],
  ['::169.254.169.254', '169.254.0.0/16'],
  ['::a9fe:a9fe', '169.254.0.0/16'],
  ['::ffff:0:169.254.169.254', '169.254.0.0/16'],
  ['64:ff9b::a9fe:a9fe', '169.254.0.0/16'],
  ['64:ff9b::169.254.170.23', '169.254.0.0/16'],
  ['64:ff9b::6464:64c8', '100.100.100.200/32'],
  ['64:ff9b:1:a9fe:a9:fe00::', '169.254.0.0/16'],
  ['64:ff9b:1::a9fe:a9fe', '169.254.0.0/16'],
  ['2002:a9fe:a9fe::1', '169.254.0.0/16'],
  ['2002:a9fe:aa17:1234:5678::9', '169.254.0.0/16'],
  ['2002:a83f:8110::', '168.63.129.16/32'],
  ['2002:c000:c0::', '192.0.0.192/32'],
  ['2001:0:4136:e378:8000:63bf:5601:5601', '169.254.0.0/16'],
  ['2001::5601:5601', '169.254.0.0/16'],
  ['::ffff:0.0.0.0', '0.0.0.0/8'],
  ['::ffff:168.63.129.16', '168.63.129.16/32'],
  ['::ffff:c000:c0', '192.0.0.192/32'],
];

/** Reachable by default: loopback, private ranges, near misses of every blocked range. */
const ALLOWED: readonly string[] = [
  '127.0.0.1',
  '127.255.255.254',
  '::1',
  '::ffff:127.0.0.1',
  '10.0.0.1',
  '172.16.0.1',
  '192.168.1.1',
  '100.64.0.1',
  '100.100.100.201',
  '168.63.129.17',
  '192.0.0.193',
  '192.0.0.191',
  '169.253.255.255',
  '169.255.0.0',
  '1.0.0.0',
  'fec0::1',
  'fe7f:ffff::1',
  'fd00:ec3::254',
  'fd01:ec2::254',
  'fc00::1',
  '2001:db8::1',
  '64:ff9b::a00:1',
  '2002:a00:1::1',
  '2001:0:4136:e378:8000:63bf:f5ff:fffe',
  '64:ff9b:1::a00:1',
  '2002::1',
  '2001::ffff:ffff',
  '8.8.8.8',
  '::2:1',
  '1::',
];

/** Not IP addresses: the decision is taken on the resolved addresses instead. */
const NAMES: readonly string[] = [
  'example.com',
  'metadata',
  '1.2.3.4.5',
  '256.1.1.1',
  '1::2::3',
  ':::',
  '1:2:3:4:5:6:7:8:9',
  '::ffff:1.2.3',
  '12345::',
  'fe80::1%',
  'g::1',
  '',
];

describe('http address policy: the decision function', () => {
  for (const [spelling, range] of BLOCKED) {
    it(`blocks ${spelling} (${range})`, () => {
      assert.equal(byDefault.decide(spelling)?.range, range);
      const refusal = byDefault.checkAddress('h', spelling);
      assert.ok(refusal instanceof ParError);
      assert.equal(refusal.code, 'PAR_ERR_HTTP_ADDRESS_BLOCKED');
      assert.equal(refusal.retryable, false);
      assert.ok(refusal.message.includes(range), refusal.message);
    });
  }

  for (const address of ALLOWED) {
    it(`allows ${address}`, () => assert.equal(byDefault.decide(address), undefined));
  }

  it('is not an IP (left to DNS, whose answers are decided on): ' + NAMES.map((n) => JSON.stringify(n)).join(' '), () => {
    for (const name of NAMES) assert.equal(parseIp(name), undefined, name);
  });

  it('names the wrapping and the embedded address', () => {
    assert.deepEqual(
      ['::ffff:a9fe:a9fe', '::a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '2001::5601:5601'].map((a) => [
        byDefault.decide(a)?.via,
        byDefault.decide(a)?.embedded,
      ]),
      [
        ['ipv4-mapped', '169.254.169.254'],
        ['ipv4-compatible', '169.254.169.254'],
        ['nat64', '169.254.169.254'],
        ['6to4', '169.254.169.254'],
        ['teredo', '169.254.169.254'],
      ],
    );
    assert.match(
      byDefault.checkAddress('sneaky.corp', '64:ff9b::a9fe:a9fe')?.message ?? '',
      /: sneaky\.corp resolves to 64:ff9b::a9fe:a9fe \(nat64 169\.254\.169\.254\), blocked: in 169\.254\.0\.0\/16/,
    );
  });
});

describe('http address policy: IPv4 spellings as the WHATWG URL parser (undici) reads them', () => {
  const urls: ReadonlyArray<readonly [string, string]> = [
    ['http://2852039166/', '169.254.169.254'],
    ['http://0xa9fea9fe/', '169.254.169.254'],
    ['http://0XA9FEA9FE/', '169.254.169.254'],
    ['http://0251.0376.0251.0376/', '169.254.169.254'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
    ['http://0xa9.254.0251.254/', '169.254.169.254'],
    ['http://169.254.43518/', '169.254.169.254'],
    ['http://169.16689662/', '169.254.169.254'],
    ['http://169.254.169.254./', '169.254.169.254'],
    ['http://%31%36%39.254.169.254/', '169.254.169.254'],
    ['http://\uff11\uff16\uff19.\uff12\uff15\uff14.\uff11\uff16\uff19.\uff12\uff15\uff14/', '169.254.169.254'],
    ['http://0/', '0.0.0.0'],
    ['http://0x0/', '0.0.0.0'],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe'],
    ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', '::ffff:a9fe:a9fe'],
    ['http://[64:ff9b::169.254.169.254]/', '64:ff9b::a9fe:a9fe'],
    ['http://[FD00:EC2::254]/', 'fd00:ec2::254'],
  ];
  for (const [url, canonical] of urls) {
    it(`${url} -> ${canonical}: blocked`, () => {
      const hostname = new URL(url).hostname;
      assert.equal(formatIp(parseIp(hostname)!), canonical);
      // Our parser reads the raw spellings the same way, should one ever reach it unparsed.
      assert.ok(byDefault.decide(hostname), hostname);
    });
  }

  it('our IPv4 parser agrees with the URL parser on raw spellings', () => {
    for (const raw of [
      '2852039166',
      '0xa9fea9fe',
      '0251.0376.0251.0376',
      '0xa9.0xfe.0xa9.0xfe',
      '169.254.43518',
      '169.16689662',
      '127.1',
      '0x7f.1',
      '017700000001',
      '10.0x10.1',
    ]) {
      assert.equal(formatIp(parseIp(raw)!), new URL(`http://${raw}/`).hostname, raw);
    }
  });
});

describe('http address policy: loopback, and the escape hatch', () => {
  it('PAR_HTTP_DENY_LOOPBACK blocks loopback in every spelling and wrapping; private ranges stay reachable', () => {
    const loopbacks = [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '0:0:0:0:0:0:0:1',
      '[::1]',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::',
      '2001::80ff:fffe',
    ];
    for (const raw of [
      ...loopbacks,
      new URL('http://127.1/').hostname,
      new URL('http://2130706433/').hostname,
      new URL('http://0x7f000001/').hostname,
    ]) {
      assert.equal(denyLoopback.checkAddress('h', raw)?.code, 'PAR_ERR_HTTP_ADDRESS_BLOCKED', raw);
      assert.equal(byDefault.decide(raw), undefined, raw);
    }
    for (const raw of ['10.0.0.1', '192.168.0.1', 'fd12:3456::1', '128.0.0.1']) assert.equal(denyLoopback.decide(raw), undefined, raw);
    assert.equal(denyLoopback.decide('169.254.169.254')?.range, '169.254.0.0/16');
  });

  it('PAR_HTTP_ALLOW_METADATA_ADDRESSES lifts link-local and cloud endpoints (and metadata names), never 0.0.0.0/8', () => {
    for (const raw of ['169.254.169.254', 'fd00:ec2::254', 'fe80::1', '168.63.129.16', '::ffff:a9fe:a9fe'])
      assert.equal(allowMetadata.decide(raw), undefined, raw);
    assert.equal(allowMetadata.decide('0.0.0.0')?.range, '0.0.0.0/8');
    assert.equal(allowMetadata.decide('::ffff:0.0.0.0')?.range, '0.0.0.0/8');
    assert.equal(allowMetadata.checkHost('metadata.google.internal'), undefined);
  });

  it('metadata host names are refused before DNS, in any case, with a trailing dot', () => {
    for (const name of ['metadata.google.internal', 'METADATA.Google.Internal.']) {
      assert.equal(byDefault.checkHost(name)?.code, 'PAR_ERR_HTTP_ADDRESS_BLOCKED', name);
    }
    assert.equal(byDefault.checkHost('metadata.google.internal.evil.example'), undefined);
  });

  it('PAR_HTTP_DENY_LOOPBACK is a boolean setting of the worker, off by default', () => {
    assert.equal(loadWorkerConfig({}).httpDenyLoopback, false);
    assert.equal(loadWorkerConfig({ PAR_HTTP_DENY_LOOPBACK: 'true' }).httpDenyLoopback, true);
    assert.throws(
      () => loadWorkerConfig({ PAR_HTTP_DENY_LOOPBACK: 'sometimes' }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_CONFIG_INVALID' && e.message.includes('PAR_HTTP_DENY_LOOPBACK'),
    );
  });
});

describe('http address policy: parsing', () => {
  it('formats canonically (RFC 5952) and lists embedded IPv4 addresses', () => {
    assert.equal(formatIp(parseIp('2001:0DB8:0000:0000:0001:0000:0000:0001')!), '2001:db8::1:0:0:1');
    assert.equal(formatIp(parseIp('1:0:1:0:1:0:1:0')!), '1:0:1:0:1:0:1:0');
    assert.equal(formatIp(parseIp('::ffff:1.2.3.4')!), '::ffff:102:304');
    assert.deepEqual(
      embeddedIpv4(parseIp('2001:0:4136:e378:8000:63bf:3fff:fdd2')!).map((e) => [e.via, formatIp(e.address)]),
      [['teredo', '192.0.2.45']],
    );
    assert.deepEqual(embeddedIpv4(parseIp('::1')!), []);
  });
});

describe('http address policy: decided before any socket opens', () => {
  const logger = createRootLogger({ process: 'test', level: 'silent' });
  const ctx = (): ActionContext => ({
    signal: new AbortController().signal,
    logger,
    configDir: '.',
    limits: { httpMaxResponseBytes: 1 << 20 },
  });
  const resolver: HostResolver = async (host) => {
    if (host === 'wrapped.corp')
      return [
        { address: '10.0.0.5', family: 4 },
        { address: '64:ff9b::a9fe:aa17', family: 6 },
      ];
    if (host === 'eks.corp') return [{ address: '169.254.170.23', family: 4 }];
    if (host === 'azure.corp') return [{ address: '::ffff:168.63.129.16', family: 6 }];
    if (host === 'local.corp') return [{ address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error(`${host}: unknown in this test`), { code: 'ENOTFOUND' });
  };

  it('literal addresses: refused in the connect hook without creating a socket; names: refused in the lookup, never connected', async () => {
    const sockets: Socket[] = [];
    const connected: string[] = [];
    const onSocket = (message: unknown): void => {
      const { socket } = message as { socket: Socket };
      sockets.push(socket);
      socket.once('connect', () => connected.push(socket.remoteAddress ?? '?'));
    };
    dc.subscribe('net.client.socket', onSocket);
    const bundle = createHttpBundle({ resolver, denyLoopback: true });
    const request = bundle.actions[0]!;
    try {
      const run = (url: string) => request.run(request.inputSchema.parse({ url, timeout: 5_000 }), ctx());
      for (const url of [
        'http://169.254.169.254/latest/meta-data/',
        'http://0xa9fea9fe/',
        'http://[fd00:ec2::23]/',
        'http://[64:ff9b::a9fe:a9fe]/',
        'http://[2002:a9fe:a9fe::]/',
        'http://168.63.129.16/',
        'http://0/',
        'http://127.0.0.1:9/',
        'http://[::1]:9/',
      ]) {
        await assert.rejects(run(url), (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_ADDRESS_BLOCKED', url);
      }
      assert.equal(sockets.length, 0, 'a socket was created for a literal blocked address');
      for (const url of [
        'http://wrapped.corp/',
        'http://eks.corp/',
        'http://azure.corp/',
        'http://local.corp:9/',
        'http://metadata.google.internal/',
      ]) {
        await assert.rejects(run(url), (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_ADDRESS_BLOCKED', url);
      }
      assert.deepEqual(connected, [], 'a socket connected to a blocked address');
    } finally {
      dc.unsubscribe('net.client.socket', onSocket);
      await bundle.close();
    }
  });
});
