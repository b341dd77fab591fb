/**
 * The network policy as enforced on real sockets, through the bundle's dispatchers. Names are
 * pointed at addresses by an injected resolver; "metadata" endpoints that must be reachable in a
 * test are loopback addresses passed as the metadata list, so no packet ever leaves loopback.
 * Where the real metadata addresses are used, the refusal happens before any socket is opened.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { createHttpBundle, type HttpBundle, type HttpBundleOptions } from '../../src/actions/http/bundle.js';
import type { HostResolver } from '../../src/actions/http/network-policy.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const FAKE_METADATA = '127.0.0.2';

interface Recorder {
  server: Server;
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function startRecorder(host: string): Promise<Recorder> {
  const rec = { connections: 0 } as Recorder;
  rec.server = createServer((_req, res) => res.end('metadata'));
  rec.server.on('connection', () => {
    rec.connections += 1;
  });
  await new Promise<void>((resolve) => rec.server.listen(0, host, resolve));
  rec.port = (rec.server.address() as AddressInfo).port;
  rec.close = () =>
    new Promise<void>((resolve) => {
      rec.server.closeAllConnections();
      rec.server.close(() => resolve());
    });
  return rec;
}

describe('http network policy on real connections', () => {
  let target: TargetServer;
  let port: string;
  let recorder: Recorder;
  const lookups: string[] = [];
  const resolver: HostResolver = async (host) => {
    lookups.push(host);
    if (host === 'imds.corp.internal') return [{ address: '169.254.169.254', family: 4 }];
    if (host === 'imds6.corp.internal') return [{ address: 'fd00:ec2::254', family: 6 }];
    if (host === 'fake-metadata.corp.internal') return [{ address: FAKE_METADATA, family: 4 }];
    return [{ address: '127.0.0.1', family: 4 }];
  };
  const bundles: HttpBundle[] = [];
  const bundle = (options: HttpBundleOptions = {}) => {
    const b = createHttpBundle({ resolver, ...options });
    bundles.push(b);
    return { request: b.actions[0]!, testConnection: b.actions[1]! };
  };
  const ctx = (overrides: Partial<ActionContext> = {}): ActionContext => ({
    signal: new AbortController().signal,
    logger,
    configDir: '.',
    limits: { httpMaxResponseBytes: 1 << 20 },
    ...overrides,
  });
  const run = (action: RegisteredAction, inputs: Record<string, unknown>, c = ctx()) => action.run(action.inputSchema.parse(inputs), c);
  const rejectsWith = (p: Promise<unknown>, code: string, pattern?: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof ParError && e.code === code && !e.retryable && (!pattern || pattern.test(e.message)));

  before(async () => {
    target = await startTargetServer();
    port = new URL(target.url).port;
    recorder = await startRecorder(FAKE_METADATA);
  });
  after(async () => {
    await Promise.all(bundles.map((b) => b.close()));
    await recorder.close();
    await target.close();
  });

  it('a DNS name resolving to 169.254.169.254 or fd00:ec2::254 is refused after resolution, before connecting', async () => {
    const { request } = bundle();
    lookups.length = 0;
    // The timeout only bounds a regression; a refusal comes from the lookup itself.
    await rejectsWith(
      run(request, { url: 'http://imds.corp.internal/latest/meta-data/', timeout: 2_000 }),
      'PAR_ERR_HTTP_ADDRESS_BLOCKED',
      /imds\.corp\.internal resolves to 169\.254\.169\.254/,
    );
    await rejectsWith(
      run(request, { url: 'http://imds6.corp.internal/latest/', timeout: 2_000 }),
      'PAR_ERR_HTTP_ADDRESS_BLOCKED',
      /fd00:ec2::254/,
    );
    assert.deepEqual(lookups, ['imds.corp.internal', 'imds6.corp.internal']);
  });

  it('metadata IP literals are refused in every spelling without a lookup', async () => {
    const { request } = bundle();
    lookups.length = 0;
    for (const url of [
      'http://169.254.169.254/latest/',
      'http://[fd00:ec2::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://2852039166/',
    ]) {
      await rejectsWith(run(request, { url, timeout: 2_000 }), 'PAR_ERR_HTTP_ADDRESS_BLOCKED');
    }
    assert.deepEqual(lookups, []);
  });

  it('a blocked address is never connected to; PAR_HTTP_ALLOW_METADATA_ADDRESSES lets it through', async () => {
    const blocked = bundle({ metadataAddresses: [FAKE_METADATA] });
    await rejectsWith(
      run(blocked.request, { url: `http://fake-metadata.corp.internal:${recorder.port}/` }),
      'PAR_ERR_HTTP_ADDRESS_BLOCKED',
    );
    await rejectsWith(run(blocked.request, { url: `http://${FAKE_METADATA}:${recorder.port}/` }), 'PAR_ERR_HTTP_ADDRESS_BLOCKED');
    assert.equal(recorder.connections, 0);
    const allowed = bundle({ metadataAddresses: [FAKE_METADATA], allowMetadataAddresses: true });
    const out = (await run(allowed.request, { url: `http://fake-metadata.corp.internal:${recorder.port}/` })) as {
      status: number;
      body: string;
    };
    assert.deepEqual([out.status, out.body], [200, 'metadata']);
    assert.equal(recorder.connections, 1);
  });

  it('the host allowlist admits exact names and globs and refuses the rest before connecting', async () => {
    const { request } = bundle({ hostAllowlist: ['api.corp.internal', '*.svc.corp.internal'] });
    const before = target.requests.length;
    await rejectsWith(run(request, { url: `http://other.example:${port}/health` }), 'PAR_ERR_HTTP_HOST_NOT_ALLOWED', /other\.example/);
    await rejectsWith(run(request, { url: `http://127.0.0.1:${port}/health` }), 'PAR_ERR_HTTP_HOST_NOT_ALLOWED');
    assert.equal(target.requests.length, before);
    for (const host of ['api.corp.internal', 'a.svc.corp.internal', 'b.c.svc.corp.internal']) {
      const out = (await run(request, { url: `http://${host}:${port}/health` })) as { status: number };
      assert.equal(out.status, 200, host);
    }
    assert.equal(target.requests.at(-1)?.headers['host'], `b.c.svc.corp.internal:${port}`);
  });

  it('every redirect hop is checked: a hop to a refused host or a metadata address fails', async () => {
    target.route('/to-outside', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', `http://outside.example:${port}/health`);
      res.end();
    });
    target.route('/to-imds', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://imds.corp.internal/latest/meta-data/');
      res.end();
    });
    const { request } = bundle({ hostAllowlist: ['*.corp.internal'] });
    const before = target.requests.length;
    await rejectsWith(
      run(request, { url: `http://api.corp.internal:${port}/to-outside`, followRedirect: true }),
      'PAR_ERR_HTTP_HOST_NOT_ALLOWED',
      /outside\.example/,
    );
    await rejectsWith(
      run(request, { url: `http://api.corp.internal:${port}/to-imds`, followRedirect: true, timeout: 2_000 }),
      'PAR_ERR_HTTP_ADDRESS_BLOCKED',
    );
    assert.equal(target.requests.length, before + 2);
  });

  it('testConnection answers reachable: false with the policy code; connection baseUrl is the default target', async () => {
    const { testConnection } = bundle({ hostAllowlist: ['*.corp.internal'] });
    const refused = (await run(testConnection, { url: 'http://imds.corp.internal/', timeout: 2_000 })) as {
      reachable: boolean;
      error?: { code: string };
    };
    assert.deepEqual([refused.reachable, refused.error?.code], [false, 'PAR_ERR_HTTP_ADDRESS_BLOCKED']);
    const outside = (await run(testConnection, { url: `http://x.example:${port}/` })) as { reachable: boolean; error?: { code: string } };
    assert.deepEqual([outside.reachable, outside.error?.code], [false, 'PAR_ERR_HTTP_HOST_NOT_ALLOWED']);
    const c = ctx({ connection: { id: 'c', integration: 'http', settings: { baseUrl: `http://api.corp.internal:${port}/health` } } });
    assert.deepEqual(await run(testConnection, {}, c), { reachable: true, status: 200 });
  });
});
