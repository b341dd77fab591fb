/**
 * A MongoDB connection's settings, read from the connection's Token Auth file with the token names
 * of the vendor's documented files: the standard form (`username`, `password`, `host`, `port`,
 * `database`, `authSource`, `authMechanism`) and the SRV form (`username`, `password`, `srvHost`,
 * `database`); plus the vendor's optional `tls` (default true, as the vendor).
 *
 * The vendor splices the tokens into a connection string; here the string holds only the host
 * (checked to be one name or address, so no token can add hosts or URI options) and the
 * database (checked, then percent-encoded); the rest goes to the driver as options, so no
 * escaping can go wrong. authMechanism is limited to the
 * password mechanisms: MONGODB-AWS, MONGODB-OIDC, GSSAPI and X509 would authenticate with the
 * worker's own environment (cloud metadata, ambient tokens, Kerberos tickets), never with the
 * connection's tokens. Errors name the token, never its value.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { ParError } from '../../errors/par-error.js';
import { tokenValue } from '../credentials.js';
import { type Credentials } from '../../contracts/credentials.js';

export const MONGODB_AUTH_MECHANISMS = ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN'] as const;
export type MongoAuthMechanism = (typeof MONGODB_AUTH_MECHANISMS)[number];

export interface MongoSettings {
  /**
   * `mongodb://host:port/database` or `mongodb+srv://name/database`: never credentials, never
   * options. The database is in the path, as in the vendor's string, so that without an
   * authSource the driver logs in against it, as the vendor's does.
   */
  readonly uri: string;
  readonly srv: boolean;
  readonly username: string;
  readonly password: string;
  /** Empty when the file names none (testConnection needs none; the data actions do). */
  readonly database: string;
  readonly authSource?: string | undefined;
  readonly authMechanism?: MongoAuthMechanism | undefined;
  readonly tls: boolean;
}

function invalid(detail: string): ParError {
  return new ParError('PAR_ERR_MONGODB_CREDENTIALS_INVALID', detail);
}

/** A DNS name (labels of letters, digits, hyphens, underscores) or an IP address literal. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function hostPart(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 6) return `[${bare}]`;
  if (isIP(bare) === 4 || HOST_NAME.test(bare)) return bare;
  return undefined;
}

function present(credentials: Credentials, name: string): string | undefined {
  const value = tokenValue(credentials, name);
  return value === undefined ? undefined : value.trim();
}

function required(credentials: Credentials, name: string, what: string): string {
  const value = present(credentials, name);
  if (!value) throw invalid(`token "${name}" is missing or empty (${what})`);
  return value;
}

export function mongoSettingsFromCredentials(credentials: Credentials | undefined): MongoSettings {
  if (credentials === undefined) {
    throw invalid(
      'the task has no connection credentials; use a connection whose Token Auth file has username, password and host/port or srvHost',
    );
  }
  if (credentials.authType !== 'Token Auth')
    throw invalid(`the credential file is ${credentials.authType}; MongoDB connections use Token Auth`);
  // Passwords are taken as written (no trim): spaces may be part of one.
  const username = required(credentials, 'username', 'the user to log in as');
  const password = tokenValue(credentials, 'password') ?? '';
  if (password.length === 0) throw invalid('token "password" is missing or empty');

  const tlsText = (present(credentials, 'tls') || 'true').toLowerCase();
  if (tlsText !== 'true' && tlsText !== 'false') throw invalid('token "tls" must be true or false');
  const mechanismText = present(credentials, 'authMechanism');
  let authMechanism: MongoAuthMechanism | undefined;
  if (mechanismText) {
    const found = MONGODB_AUTH_MECHANISMS.find((m) => m === mechanismText.toUpperCase());
    if (!found)
      throw invalid(`token "authMechanism" must be one of ${MONGODB_AUTH_MECHANISMS.join(', ')} (or absent for the server's default)`);
    authMechanism = found;
  }
  const database = present(credentials, 'database') ?? '';
  if (/[/\\. "$\0]/.test(database)) throw invalid('token "database" is not a valid database name');
  const authSource = present(credentials, 'authSource') || undefined;
  const common = { username, password, database, authSource, authMechanism, tls: tlsText === 'true' };

  // As the vendor: a file with srvHost is the SRV form, whatever else it holds.
  if (tokenValue(credentials, 'srvHost') !== undefined) {
    const srvHost = required(credentials, 'srvHost', 'the DNS name whose SRV records list the servers');
    const host = hostPart(srvHost);
    if (!host || isIP(srvHost.replace(/^\[|\]$/g, '')) !== 0) throw invalid('token "srvHost" is not one DNS name');
    return { ...common, uri: `mongodb+srv://${host}/${encodeURIComponent(database)}`, srv: true };
  }
  const host = hostPart(required(credentials, 'host', 'the server name or address'));
  if (!host) throw invalid('token "host" is not one host name or IP address (use srvHost for a cluster)');
  const portText = required(credentials, 'port', 'the server port');
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65_535)) throw invalid('token "port" is not a port number (1-65535)');
  return { ...common, uri: `mongodb://${host}:${port}/${encodeURIComponent(database)}`, srv: false };
}

/** Identifies a credential set without revealing it: the client cache key. Never log it either. */
export function mongoSettingsKey(settings: MongoSettings): string {
  const { uri, username, password, authSource, authMechanism, tls } = settings;
  return createHash('sha256')
    .update(JSON.stringify([uri, username, password, authSource ?? null, authMechanism ?? null, tls]))
    .digest('hex');
}
