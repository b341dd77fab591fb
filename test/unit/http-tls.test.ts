/**
 * TLS against a real local HTTPS server whose certificates are made at test time with the
 * `openssl` CLI: a private CA, a valid leaf and an expired leaf (both for localhost/127.0.0.1).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ActionContext } from '../../src/actions/action.js';
import { createHttpBundle, type HttpBundle } from '../../src/actions/http/bundle.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { tempDir } from '../helpers/tmp.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

interface Pki {
  caPem: string;
  leaf: { key: string; cert: string };
  expired: { key: string; cert: string };
}

function makePki(dir: string): Pki {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=par-test-ca']);
  run(['req', ...EC, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost']);
  execFileSync(
    'sh',
    [
      '-c',
      [
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf",
        'mkdir -p db && touch db/index.txt && echo 1000 > db/serial',
        "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index.txt\\nserial=db/serial\\nnew_certs_dir=db\\ndefault_md=sha256\\npolicy=p\\nunique_subject=no\\n[p]\\ncommonName=supplied\\n' > ca.cnf",
      ].join(' && '),
    ],
    { cwd: dir },
  );
  run([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  ]);
  // `openssl ca` is the one CLI path that sets dates in the past.
  run([
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.pem',
    '-keyfile',
    'ca.key',
    '-in',
    'leaf.csr',
    '-out',
    'expired.pem',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-extfile',
    'ext.cnf',
    '-notext',
  ]);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    caPem: read('ca.pem'),
    leaf: { key: read('leaf.key'), cert: read('leaf.pem') },
    expired: { key: read('leaf.key'), cert: read('expired.pem') },
  };
}

async function startHttps(pair: { key: string; cert: string }): Promise<{ url: string; server: Server }> {
  const server = createServer(pair, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"tls":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://localhost:${(server.address() as AddressInfo).port}`, server };
}

let hasOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  hasOpenssl = false;
}

describe('http TLS: custom CA bundle and allowExpiredCertificate', { skip: hasOpenssl ? false : 'openssl CLI not installed' }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let valid: { url: string; server: Server };
  let expired: { url: string; server: Server };
  const bundles: HttpBundle[] = [];
  const localhost = async () => [{ address: '127.0.0.1', family: 4 as const }];
  const ctx: ActionContext = { signal: new AbortController().signal, logger, configDir: '.', limits: { httpMaxResponseBytes: 1 << 20 } };
  const request = (b: HttpBundle, inputs: Record<string, unknown>) => {
    const action = b.actions[0]!;
    return action.run(action.inputSchema.parse(inputs), ctx) as Promise<{ status: number; body: unknown }>;
  };
  const make = (options: Parameters<typeof createHttpBundle>[0] = {}) => {
    const b = createHttpBundle({ resolver: localhost, configDir: dir.path, ...options });
    bundles.push(b);
    return b;
  };
  const tlsFailure = (code: RegExp) => (e: unknown) =>
    e instanceof ParError && e.code === 'PAR_ERR_HTTP_TLS' && !e.retryable && code.test(e.message);

  before(async () => {
    dir = await tempDir('http-tls');
    const pki = makePki(dir.path);
    await mkdir(join(dir.path, 'certs'));
    await writeFile(join(dir.path, 'certs', 'ca.pem'), pki.caPem);
    valid = await startHttps(pki.leaf);
    expired = await startHttps(pki.expired);
  });
  after(async () => {
    await Promise.all(bundles.map((b) => b.close()));
    for (const s of [valid, expired])
      await new Promise<void>((resolve) => {
        s.server.closeAllConnections();
        s.server.close(() => resolve());
      });
    await dir.remove();
  });

  it('without the CA, the certificate is refused with PAR_ERR_HTTP_TLS naming the reason', async () => {
    await assert.rejects(
      request(make(), { url: `${valid.url}/` }),
      tlsFailure(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/),
    );
  });

  it('with PAR_HTTP_CA_BUNDLE_FILE (relative to the config dir) the server is trusted', async () => {
    const out = await request(make({ caBundleFile: 'certs/ca.pem' }), { url: `${valid.url}/` });
    assert.deepEqual([out.status, out.body], [200, { tls: true }]);
  });

  it('an expired certificate is refused even from a trusted CA', async () => {
    await assert.rejects(request(make({ caBundleFile: 'certs/ca.pem' }), { url: `${expired.url}/` }), tlsFailure(/CERT_HAS_EXPIRED/));
  });

  it('allowExpiredCertificate accepts the expired and the unknown-CA certificate; the default stays strict on the same bundle', async () => {
    const b = make();
    assert.equal((await request(b, { url: `${expired.url}/`, allowExpiredCertificate: true })).status, 200);
    assert.equal((await request(b, { url: `${valid.url}/`, allowExpiredCertificate: true })).status, 200);
    await assert.rejects(request(b, { url: `${valid.url}/` }), tlsFailure(/./));
  });

  it('a missing or unparsable CA bundle stops the bundle from starting, naming the setting', async () => {
    await writeFile(join(dir.path, 'certs', 'junk.pem'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
    await writeFile(join(dir.path, 'certs', 'empty.pem'), 'hello\n');
    for (const file of ['certs/missing.pem', 'certs/junk.pem', 'certs/empty.pem']) {
      assert.throws(
        () => createHttpBundle({ caBundleFile: file, configDir: dir.path }),
        (e: unknown) =>
          e instanceof ParError &&
          e.code === 'PAR_ERR_CONFIG_INVALID' &&
          e.message.includes('PAR_HTTP_CA_BUNDLE_FILE') &&
          e.message.includes(file),
        file,
      );
    }
  });
});
