/**
 * Test certificates for the fake Temporal frontend, made by `openssl` in a temporary dir: a CA,
 * a server certificate for `temporal.test` (and 127.0.0.1) signed by it, a client certificate
 * signed by it (mTLS), and a second, unrelated CA with its own client certificate (to be refused).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TemporalTestCerts {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Another CA, which the server does not trust, and a client certificate it signed. */
  readonly otherCaCert: string;
  readonly otherClientCert: string;
  readonly otherClientKey: string;
}

export const SERVER_NAME = 'temporal.test';

export async function makeTemporalCerts(): Promise<TemporalTestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'par-temporal-certs-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const ca = (name: string) =>
      ssl(
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      );
    const leaf = (name: string, caName: string) => {
      ssl(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      );
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${caName}.crt`,
        '-CAkey',
        `${caName}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    };
    await writeFile(join(dir, 'server.ext'), `subjectAltName=DNS:${SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
    await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    await writeFile(join(dir, 'other-client.ext'), 'extendedKeyUsage=clientAuth\n');
    ca('test-ca');
    ca('other-ca');
    leaf('server', 'test-ca');
    leaf('client', 'test-ca');
    leaf('other-client', 'other-ca');
    const read = (f: string) => readFile(join(dir, f), 'utf8');
    return {
      caCert: await read('test-ca.crt'),
      serverCert: await read('server.crt'),
      serverKey: await read('server.key'),
      clientCert: await read('client.crt'),
      clientKey: await read('client.key'),
      otherCaCert: await read('other-ca.crt'),
      otherClientCert: await read('other-client.crt'),
      otherClientKey: await read('other-client.key'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A vendor-format Token Auth file. */
export function tokenAuthFile(tokens: Record<string, string>): string {
  return JSON.stringify({
    auth_type: 'Token Auth',
    credentials: Object.entries(tokens).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
  });
}
