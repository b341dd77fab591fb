/**
 * The `com.datadoghq.mongodb` bundle (find, insertOne, insertMany, updateOne, updateMany,
 * replaceOne, countDocuments, createIndex, findAndModify, testConnection) with the official
 * `mongodb` driver. The actions share one client cache (a MongoClient per credential set) for the
 * life of the worker, closed with the bundle. Creating the bundle loads nothing heavy: the driver
 * is imported on the first MongoDB task (clients.ts).
 */
import type { RegisteredAction } from '../action.js';
import { mongoDataActions } from './actions.js';
import { DEFAULT_MONGO_CLIENT_OPTIONS, MongoClientCache, type MongoClientCacheOptions } from './clients.js';
import { mongoTestConnectionAction } from './test-connection.js';

export interface MongodbBundleOptions {
  readonly clients?: Partial<MongoClientCacheOptions>;
}

export interface MongodbBundle {
  readonly actions: readonly RegisteredAction[];
  /** Exposed for tests and diagnostics: how many credential sets have a client. */
  readonly clients: MongoClientCache;
  close(): Promise<void>;
}

export function createMongodbBundle(options: MongodbBundleOptions = {}): MongodbBundle {
  const clients = new MongoClientCache({ ...DEFAULT_MONGO_CLIENT_OPTIONS, ...options.clients });
  return {
    actions: [...mongoDataActions({ clients }), mongoTestConnectionAction({ clients })],
    clients,
    close: () => clients.close(),
  };
}
