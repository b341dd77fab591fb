/**
 * A Temporal connection's settings, read as the vendor reads them (its `helpers.go`):
 *
 * - Token Auth file with `address`: plain-text gRPC to that `host:port`, nothing else read.
 * - Token Auth file with `serverAddress`: TLS (always), optionally `serverRootCACertificate`
 *   (PEM; absent or empty = the system roots), `serverNameOverride` (SNI and certificate name),
 *   `clientCertPairCrt` + `clientCertPairKey` (PEM, mTLS; both or neither), `apiKey` (sent as
 *   `Authorization: Bearer`). The vendor's documented files temporal_TLS_token.json and
 *   temporal_mTLS_token.json have exactly these names.
 * - No credential file: the connection's non-secret setting `address` (plain text, no auth).
 *
 * Unlike the vendor, a root CA or a key pair that does not parse is refused here (the vendor
 * logs and falls back to the system roots). Errors name the token, never its value.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { ParError } from '../../errors/par-error.js';
import type { ConnectionRef } from '../../contracts/task.js';
import { tokenValue } from '../credentials.js';
import { type Credentials } from '../../contracts/credentials.js';

export interface TemporalTlsSettings {
  readonly serverNameOverride?: string | undefined;
  readonly serverRootCACertificate?: string | undefined;
  readonly clientCertPair?: { readonly crt: string; readonly key: string } | undefined;
}

export interface TemporalSettings {
  /** `host:port` (the client adds :7233 when the port is missing). */
  readonly address: string;
  /** Absent: plain text. */
  readonly tls?: TemporalTlsSettings | undefined;
  readonly apiKey?: string | undefined;
}

function invalid(detail: string): ParError {
  return new ParError('PAR_ERR_TEMPORAL_CREDENTIALS_INVALID', detail);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function checkAddress(address: string, source: string): string {
  const trimmed = address.trim();
  // host:port, [v6]:port or a bare host; no scheme, path or spaces (the client would misread them).
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(trimmed)) throw invalid(`${source} is not host:port`);
  return trimmed;
}

function checkCertificates(pem: string, token: string): void {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw invalid(`token "${token}" is not a PEM certificate`);
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid(`token "${token}" is not a PEM certificate`);
  }
}

export function settingsFromTask(credentials: Credentials | undefined, connection: ConnectionRef | undefined): TemporalSettings {
  if (credentials === undefined) {
    const address = connection?.settings?.['address'];
    if (typeof address === 'string' && address.trim() !== '') return { address: checkAddress(address, 'connection setting "address"') };
    throw invalid(
      'the task has no credentials; use a connection whose Token Auth file has serverAddress (TLS) or address, or a connection setting "address"',
    );
  }
  if (credentials.authType !== 'Token Auth')
    throw invalid(`the credential file is ${credentials.authType}; Temporal connections use Token Auth`);

  const plain = tokenValue(credentials, 'address');
  if (plain !== undefined) return { address: checkAddress(plain, 'token "address"') };

  const serverAddress = nonEmpty(tokenValue(credentials, 'serverAddress'));
  if (serverAddress === undefined) throw invalid('token "serverAddress" (or "address") is missing or empty');
  const crt = nonEmpty(tokenValue(credentials, 'clientCertPairCrt'));
  const key = nonEmpty(tokenValue(credentials, 'clientCertPairKey'));
  if ((crt === undefined) !== (key === undefined))
    throw invalid('tokens "clientCertPairCrt" and "clientCertPairKey" must be given together');
  if (crt !== undefined && key !== undefined) {
    checkCertificates(crt, 'clientCertPairCrt');
    try {
      createPrivateKey(key);
    } catch {
      throw invalid('token "clientCertPairKey" is not a PEM private key');
    }
  }
  const ca = nonEmpty(tokenValue(credentials, 'serverRootCACertificate'));
  if (ca !== undefined) checkCertificates(ca, 'serverRootCACertificate');
  return {
    address: checkAddress(serverAddress, 'token "serverAddress"'),
    tls: {
      serverNameOverride: nonEmpty(tokenValue(credentials, 'serverNameOverride'))?.trim(),
      serverRootCACertificate: ca,
      clientCertPair: crt !== undefined && key !== undefined ? { crt, key } : undefined,
    },
    apiKey: nonEmpty(tokenValue(credentials, 'apiKey')),
  };
}

/** Identifies a credential set without revealing it: the connection cache key. Never log it. */
export function settingsKey(settings: TemporalSettings): string {
  const t = settings.tls;
  const parts = [
    settings.address,
    settings.apiKey ?? null,
    t
      ? [t.serverNameOverride ?? null, t.serverRootCACertificate ?? null, t.clientCertPair?.crt ?? null, t.clientCertPair?.key ?? null]
      : null,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
