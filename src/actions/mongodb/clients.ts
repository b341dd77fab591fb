/**
 * One MongoClient (with its own connection pool and server monitoring) per distinct credential
 * set, for the life of the worker: tasks share it instead of connecting, authenticating and
 * disconnecting each time as the vendor does. The `mongodb` driver is imported on the first
 * MongoDB task, so workers that never run one do not load it. Clients are keyed by a hash of the
 * settings (never the settings), idle pooled connections close after a while, a client no task
 * has used for `idleClientMs` is closed (with its server monitor, which would otherwise keep
 * polling a server nobody asks for), and beyond `maxClients` credential sets the least recently
 * used idle client is closed. A client is never closed while a task holds it.
 */
import type { MongoClient, MongoClientOptions } from 'mongodb';
import { mongoSettingsKey, type MongoSettings } from './connection-settings.js';

export interface MongoClientCacheOptions {
  /** Connections per credential set (per worker process). */
  readonly maxPoolSize: number;
  /** How long an operation waits for a usable server (unreachable host, failed login). */
  readonly serverSelectionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxIdleTimeMs: number;
  /** Distinct credential sets with an open client; the least recently used beyond it is closed. */
  readonly maxClients: number;
  /** A client unused for this long is closed (checked every `idleClientMs / 4`, at least 1 s). */
  readonly idleClientMs: number;
}

export const DEFAULT_MONGO_CLIENT_OPTIONS: MongoClientCacheOptions = {
  maxPoolSize: 10,
  serverSelectionTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxIdleTimeMs: 30_000,
  maxClients: 32,
  idleClientMs: 300_000,
};

export const MONGODB_APP_NAME = 'par-mongodb';

type Driver = typeof import('mongodb');
let driver: Promise<Driver> | undefined;

/** The driver, imported once on first use. A failed import is retried by the next task. */
export function loadMongoDriver(): Promise<Driver> {
  driver ??= import('mongodb').catch((error: unknown) => {
    driver = undefined;
    throw error;
  });
  return driver;
}

interface Entry {
  readonly client: MongoClient;
  inUse: number;
  lastUsed: number;
}

/** A client borrowed for one task: `release()` when the task is done with it. */
export interface MongoClientLease {
  readonly client: MongoClient;
  release(): void;
}

export class MongoClientCache {
  readonly #options: MongoClientCacheOptions;
  /** Insertion order is use order: a used client is moved to the end. */
  readonly #entries = new Map<string, Entry>();
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MongoClientCacheOptions = DEFAULT_MONGO_CLIENT_OPTIONS) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The client for these settings; it connects (and logs in) on its first operation. */
  async lease(settings: MongoSettings): Promise<MongoClientLease> {
    if (this.#closed) throw new Error('the MongoDB client cache is closed');
    const key = mongoSettingsKey(settings);
    let entry = this.#entries.get(key);
    if (!entry) {
      const { MongoClient: Client } = await loadMongoDriver();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may have run while the driver loaded
      if (this.#closed) throw new Error('the MongoDB client cache is closed');
      // Another task may have made it while the driver loaded.
      entry = this.#entries.get(key) ?? { client: new Client(settings.uri, this.#clientOptions(settings)), inUse: 0, lastUsed: Date.now() };
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    entry.inUse++;
    entry.lastUsed = Date.now();
    this.#evictOverflow();
    this.#startSweeper();
    const held = entry;
    let released = false;
    return {
      client: held.client,
      release: () => {
        if (released) return;
        released = true;
        held.inUse--;
        held.lastUsed = Date.now();
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    const clients = [...this.#entries.values()].map((e) => e.client);
    this.#entries.clear();
    await Promise.allSettled(clients.map((c) => c.close()));
  }

  #evictOverflow(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#options.maxClients) return;
      if (entry.inUse > 0) continue;
      this.#entries.delete(key);
      void entry.client.close().catch(() => undefined);
    }
  }

  #startSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(1_000, Math.floor(this.#options.idleClientMs / 4)));
    this.#sweeper.unref();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.inUse === 0 && now - entry.lastUsed >= this.#options.idleClientMs) {
        this.#entries.delete(key);
        void entry.client.close().catch(() => undefined);
      }
    }
    if (this.#entries.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #clientOptions(settings: MongoSettings): MongoClientOptions {
    return {
      auth: { username: settings.username, password: settings.password },
      ...(settings.authSource ? { authSource: settings.authSource } : {}),
      ...(settings.authMechanism ? { authMechanism: settings.authMechanism } : {}),
      tls: settings.tls,
      appName: MONGODB_APP_NAME,
      maxPoolSize: this.#options.maxPoolSize,
      maxIdleTimeMS: this.#options.maxIdleTimeMs,
      serverSelectionTimeoutMS: this.#options.serverSelectionTimeoutMs,
      connectTimeoutMS: this.#options.connectTimeoutMs,
      // Nothing the credential file does not say: no compression, no command monitoring.
      monitorCommands: false,
    };
  }
}
