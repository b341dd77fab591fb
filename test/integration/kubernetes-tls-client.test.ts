/**
 * The Kubernetes client over real TLS (a self-signed API server on loopback, trusted through the
 * kubeconfig's certificate-authority-data): it verifies the server, and it reuses one
 * keep-alive connection across requests instead of a TLS handshake per task.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/actions/kubernetes/client.js';
import { ParError } from '../../src/errors/par-error.js';
import { tempDir } from '../helpers/tmp.js';

let server: Server;
let url = '';
let caPem = '';
let connections = 0;
let remove: () => Promise<void> = async () => undefined;

before(async () => {
  const dir = await tempDir('k8s-tls');
  remove = () => dir.remove();
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: dir.path, stdio: 'ignore' },
  );
  caPem = readFileSync(join(dir.path, 'cert.pem'), 'utf8');
  server = createServer({ key: readFileSync(join(dir.path, 'key.pem')), cert: caPem }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [], seenAuth: req.headers.authorization ?? null }),
    );
  });
  server.on('secureConnection', () => {
    connections += 1;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await remove();
});

function client(ca: string | undefined): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, ...(ca ? { caData: Buffer.from(ca).toString('base64') } : {}), skipTLSVerify: false }],
    users: [{ name: 'u', token: 'T0KEN' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return new KubeClient(kc, url);
}

const ctx = () => ({ signal: new AbortController().signal, maxResponseBytes: 1 << 20 });

test('requests over TLS reuse one connection and carry the bearer token', async () => {
  const kube = client(caPem);
  const before = connections;
  for (let i = 0; i < 5; i++) {
    const list = (await kube.json({ method: 'GET', path: '/api/v1/namespaces/default/configmaps' }, ctx())) as {
      kind: string;
      seenAuth: string;
    };
    assert.equal(list.kind, 'ConfigMapList');
    assert.equal(list.seenAuth, 'Bearer T0KEN');
  }
  assert.equal(connections - before, 1, 'one TLS handshake for five requests');
});

test('a server the kubeconfig does not trust is refused', async () => {
  await assert.rejects(
    client(undefined).json({ method: 'GET', path: '/api/v1/namespaces' }, ctx()),
    (e: unknown) => e instanceof ParError && !e.retryable,
  );
});
