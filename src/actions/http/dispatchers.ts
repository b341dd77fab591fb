/**
 * The bundle's connection pools: one undici Agent per TLS mode (verifying, and not verifying for
 * `allowExpiredCertificate`), created once per worker. Both connect through the network policy:
 * metadata host names and the host allowlist are checked before anything else, an IP literal host
 * is decided here before a socket exists, a name's DNS goes through the policy's lookup (a blocked
 * address fails the lookup, before connect, so no packet is sent to it), and the connected
 * socket's peer address is checked once more as a second line of defence.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { Agent, buildConnector } from 'undici';
import { ParError } from '../../errors/par-error.js';
import type { NetworkPolicy } from './network-policy.js';

export const CONNECT_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 4_000;

function guardedConnector(policy: NetworkPolicy, tls: { ca?: string[]; rejectUnauthorized: boolean }): buildConnector.connector {
  const base = buildConnector({ ...tls, timeout: CONNECT_TIMEOUT_MS, lookup: policy.lookupFunction() });
  return (options, callback) => {
    const hostRefusal = policy.checkHost(options.hostname);
    // IP literals skip the lookup in net.connect: check them here.
    const literalRefusal = hostRefusal ?? policy.checkAddress(options.hostname, options.hostname);
    if (literalRefusal) {
      callback(literalRefusal, null);
      return;
    }
    base(options, (error, socket) => {
      if (error) {
        callback(error, null);
        return;
      }
      const peerRefusal = socket.remoteAddress ? policy.checkAddress(options.hostname, socket.remoteAddress) : undefined;
      if (peerRefusal) {
        socket.destroy();
        callback(peerRefusal, null);
        return;
      }
      callback(null, socket);
    });
  };
}

/**
 * Reads a PEM CA bundle, once, at worker start. A missing or unparsable file stops the worker with
 * a message naming the setting: a runner silently falling back to public CAs would fail later and
 * less clearly.
 */
export function readCaBundle(file: string, configDir: string, settingName = 'PAR_HTTP_CA_BUNDLE_FILE'): string[] {
  const path = isAbsolute(file) ? file : resolve(configDir, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ParError('PAR_ERR_CONFIG_INVALID', `${settingName}: ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new ParError('PAR_ERR_CONFIG_INVALID', `${settingName}: ${path}: no PEM certificate in the file`);
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch {
      throw new ParError('PAR_ERR_CONFIG_INVALID', `${settingName}: ${path}: certificate #${i + 1} does not parse`);
    }
  });
  return pems;
}

export interface HttpDispatchers {
  /** Verifies certificates against the public roots plus the configured CA bundle. */
  readonly verifying: Agent;
  /** Does not verify certificates (`allowExpiredCertificate: true`). */
  readonly insecure: Agent;
  close(): Promise<void>;
}

export function createHttpDispatchers(policy: NetworkPolicy, extraCas: readonly string[] = []): HttpDispatchers {
  // `ca` replaces the default roots, so the public ones are kept explicitly.
  const ca = extraCas.length > 0 ? [...rootCertificates, ...extraCas] : undefined;
  const verifying = new Agent({
    connect: guardedConnector(policy, { ...(ca ? { ca } : {}), rejectUnauthorized: true }),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  });
  const insecure = new Agent({ connect: guardedConnector(policy, { rejectUnauthorized: false }), keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS });
  return {
    verifying,
    insecure,
    close: async () => {
      await Promise.all([verifying.close(), insecure.close()]);
    },
  };
}
