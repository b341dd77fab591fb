/**
 * A PostgreSQL connection's settings, read from the connection's Token Auth file with the token
 * names of the vendor's documented file: `host`, `port`, `user`, `password`, `database`,
 * `sslmode`, and the optional `applicationName` and `searchPath`. Errors name the token, never its
 * value: every token, not only `password`, may be sensitive.
 */
import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { ParError } from '../../errors/par-error.js';
import { tokenValue } from '../credentials.js';
import { type Credentials } from '../../contracts/credentials.js';

export const DEFAULT_APPLICATION_NAME = 'par-postgresql';

/** libpq's sslmode values; `prefer` is libpq's default and ours. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface PostgresSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly sslmode: SslMode;
  /** `application_name` of the session (default par-postgresql). */
  readonly applicationName: string;
  /** The session's `search_path`, when the file sets one. */
  readonly searchPath?: string | undefined;
}

function invalid(detail: string): ParError {
  return new ParError('PAR_ERR_POSTGRES_CREDENTIALS_INVALID', detail);
}

function required(credentials: Credentials, name: string): string {
  const value = tokenValue(credentials, name);
  if (value === undefined || value.trim().length === 0) throw invalid(`token "${name}" is missing or empty`);
  return value.trim();
}

function isSslMode(value: string): value is SslMode {
  return (SSL_MODES as readonly string[]).includes(value);
}

export function settingsFromCredentials(credentials: Credentials | undefined): PostgresSettings {
  if (credentials === undefined) {
    throw invalid('the task has no connection credentials; use a connection whose Token Auth file has the tokens host, user and database');
  }
  if (credentials.authType !== 'Token Auth')
    throw invalid(`the credential file is ${credentials.authType}; PostgreSQL connections use Token Auth`);
  const portText = tokenValue(credentials, 'port')?.trim() || '5432';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65_535)) throw invalid('token "port" is not a port number (1-65535)');
  const sslmode = tokenValue(credentials, 'sslmode')?.trim().toLowerCase() || 'prefer';
  if (!isSslMode(sslmode)) throw invalid(`token "sslmode" must be one of ${SSL_MODES.join(', ')}`);
  return {
    host: required(credentials, 'host'),
    port,
    user: required(credentials, 'user'),
    // Trust and peer authentication need no password: an empty or absent one is fine.
    password: tokenValue(credentials, 'password') ?? '',
    database: required(credentials, 'database'),
    sslmode,
    applicationName: tokenValue(credentials, 'applicationName')?.trim() || DEFAULT_APPLICATION_NAME,
    searchPath: tokenValue(credentials, 'searchPath')?.trim() || undefined,
  };
}

/** Identifies a credential set without revealing it: the pool cache key. Never log it either. */
export function settingsKey(settings: PostgresSettings): string {
  const { host, port, user, password, database, sslmode, applicationName, searchPath } = settings;
  return createHash('sha256')
    .update(JSON.stringify([host, port, user, password, database, sslmode, applicationName, searchPath ?? null]))
    .digest('hex');
}

/** libpq's `options` startup parameter for a search_path: spaces and backslashes escaped. */
export function searchPathOption(searchPath: string | undefined): string | undefined {
  return searchPath === undefined ? undefined : `-c search_path=${searchPath.replace(/[\\ ]/g, '\\$&')}`;
}

/**
 * pg's `ssl` option for each sslmode, as libpq reads them: `require` encrypts without checking
 * the certificate, `verify-ca` checks the chain, `verify-full` the chain and the host name.
 * `allow` and `prefer` try TLS and fall back to plain text when the server offers no TLS
 * (pools.ts does the fallback); libpq's `allow` tries plain text first, the outcome is the same.
 */
export function tlsOptions(sslmode: SslMode): false | ConnectionOptions {
  switch (sslmode) {
    case 'disable':
      return false;
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

export function fallsBackToPlainText(sslmode: SslMode): boolean {
  return sslmode === 'allow' || sslmode === 'prefer';
}
