/**
 * One pg Pool per distinct credential set, for the life of the worker: tasks borrow a connection
 * instead of opening one each. Pools are keyed by a hash of the settings (never the settings, so
 * no password sits in a map key or a log line) and closed with the bundle. Idle connections close
 * after a while, so a pool nobody uses holds no server connection.
 */
import type { ClientConfig, CustomTypesConfig, Pool, PoolClient } from 'pg';
import { fallsBackToPlainText, searchPathOption, settingsKey, tlsOptions, type PostgresSettings } from './connection-settings.js';
import { isTlsUnsupported } from './classify.js';
import { loadedPg, pgLibrary, type PgLibrary } from './library.js';

export interface PoolCacheOptions {
  /** Connections per credential set (per worker process). */
  readonly maxConnectionsPerPool: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export const DEFAULT_POOL_OPTIONS: PoolCacheOptions = { maxConnectionsPerPool: 10, connectTimeoutMs: 10_000, idleTimeoutMs: 30_000 };

/**
 * Date, time and interval values come back as PostgreSQL prints them: pg would turn a
 * `timestamp without time zone` into a Date in the worker's time zone, which shifts it. bytea
 * comes back as its `\x...` hex text rather than a Buffer (which JSON would spell as a byte array).
 */
const TEXT_OIDS: ReadonlySet<number> = new Set([17, 1082, 1083, 1114, 1184, 1186, 1266]);
const resultTypes: CustomTypesConfig = {
  getTypeParser: (oid, format) => {
    if (TEXT_OIDS.has(oid) && format !== 'binary') return (value: string) => value;
    // pg-types declares its parsers as `any`; they are pg's own, passed on as they are.
    // Called by pg, so pg is loaded.
    const parser: unknown = loadedPg()?.types.getTypeParser(oid, format ?? 'text');
    return parser;
  },
};

/** A borrowed connection. `release(true)` closes it instead of returning it to the pool. */
export interface PostgresLease {
  readonly client: PoolClient;
  /** The server process id of this connection (for `pg_cancel_backend`). */
  readonly backendPid: number | undefined;
  /** How to open a fresh, unpooled connection to the same server the way the pool does. */
  readonly clientConfig: ClientConfig;
  release(destroy: boolean): void;
  /** Cuts the connection's socket: the last resort when a cancel cannot reach the server. */
  destroySocket(): void;
}

interface PoolEntry {
  pool: Pool;
  clientConfig: ClientConfig;
  /** sslmode allow/prefer: the server offers no TLS, so this pool connects in plain text. */
  plainText: boolean;
}

export class PostgresPoolCache {
  readonly #options: PoolCacheOptions;
  readonly #entries = new Map<string, PoolEntry>();
  #closed = false;

  constructor(options: PoolCacheOptions = DEFAULT_POOL_OPTIONS) {
    this.#options = options;
  }

  /** How many pools exist (one per distinct credential set used so far). */
  get size(): number {
    return this.#entries.size;
  }

  async acquire(settings: PostgresSettings): Promise<PostgresLease> {
    const pg = await pgLibrary(); // the first PostgreSQL task loads the driver
    if (this.#closed) throw new Error('the PostgreSQL pool cache is closed');
    const key = settingsKey(settings);
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = this.#createEntry(pg, settings, false);
      this.#entries.set(key, entry);
    }
    let client: PoolClient;
    try {
      client = await entry.pool.connect();
    } catch (error) {
      if (entry.plainText || !fallsBackToPlainText(settings.sslmode) || !isTlsUnsupported(error)) throw error;
      const plain = this.#replace(pg, key, entry, settings);
      client = await plain.pool.connect();
      entry = plain;
    }
    const pid = (client as unknown as { processID?: unknown }).processID;
    return {
      client,
      backendPid: typeof pid === 'number' ? pid : undefined,
      clientConfig: entry.clientConfig,
      release: (destroy) => client.release(destroy),
      destroySocket: () => (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy(),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#entries.values()].map((e) => e.pool);
    this.#entries.clear();
    await Promise.allSettled(pools.map((p) => p.end()));
  }

  #replace(pg: PgLibrary, key: string, old: PoolEntry, settings: PostgresSettings): PoolEntry {
    // Another task may have switched already; reuse its pool.
    const current = this.#entries.get(key);
    if (current && current !== old) return current;
    const entry = this.#createEntry(pg, settings, true);
    this.#entries.set(key, entry);
    void old.pool.end().catch(() => undefined);
    return entry;
  }

  #createEntry(pg: PgLibrary, settings: PostgresSettings, plainText: boolean): PoolEntry {
    const options = searchPathOption(settings.searchPath);
    const clientConfig: ClientConfig = {
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      ssl: plainText ? false : tlsOptions(settings.sslmode),
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      keepAlive: true,
      application_name: settings.applicationName,
      ...(options === undefined ? {} : { options }),
      // Sent at start-up, so it outranks a role or database default: the server must read the
      // bytes as UTF-8, as our parser did (some client-only encodings hide a quote or a backslash
      // in a multi-byte character).
      client_encoding: 'UTF8',
      types: resultTypes,
    };
    const pool = new pg.Pool({ ...clientConfig, max: this.#options.maxConnectionsPerPool, idleTimeoutMillis: this.#options.idleTimeoutMs });
    // An idle connection that dies (server restart) is dropped by the pool and the next task
    // connects anew; without a listener the error would crash the worker.
    pool.on('error', () => undefined);
    return { pool, clientConfig, plainText };
  }
}
