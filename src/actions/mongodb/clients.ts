/**
 * One MongoClient (with its own connection pool and server monitoring) per distinct credential
 * set, for the life of the worker: tasks share it instead of connecting, authenticating and
 * disconnecting each time as the vendor does. The `mongodb` driver is imported on the first
 * MongoDB task, so workers that never run one do not load it. Clients are keyed by a hash of the
 * settings (never the settings), idle pooled connections close after a while, and beyond
 * `maxClients` credential sets the least recently used client is closed.
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
}

export const DEFAULT_MONGO_CLIENT_OPTIONS: MongoClientCacheOptions = {
  maxPoolSize: 10,
  serverSelectionTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxIdleTimeMs: 30_000,
  maxClients: 32,
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

export class MongoClientCache {
  readonly #options: MongoClientCacheOptions;
  /** Insertion order is use order: a used client is moved to the end. */
  readonly #clients = new Map<string, MongoClient>();
  #closed = false;

  constructor(options: MongoClientCacheOptions = DEFAULT_MONGO_CLIENT_OPTIONS) {
    this.#options = options;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** The client for these settings; it connects (and logs in) on its first operation. */
  async client(settings: MongoSettings): Promise<MongoClient> {
    if (this.#closed) throw new Error('the MongoDB client cache is closed');
    const key = mongoSettingsKey(settings);
    const existing = this.#clients.get(key);
    if (existing) {
      this.#clients.delete(key);
      this.#clients.set(key, existing);
      return existing;
    }
    const { MongoClient: Client } = await loadMongoDriver();
    // Another task may have made it while the driver loaded.
    const raced = this.#clients.get(key);
    if (raced) return raced;
    const client = new Client(settings.uri, this.#clientOptions(settings));
    this.#clients.set(key, client);
    while (this.#clients.size > this.#options.maxClients) {
      const [oldestKey, oldest] = this.#clients.entries().next().value as [string, MongoClient];
      this.#clients.delete(oldestKey);
      void oldest.close().catch(() => undefined);
    }
    return client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map((c) => c.close()));
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
