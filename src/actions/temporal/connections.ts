/**
 * One @temporalio/client Connection per distinct credential set, for the life of the worker:
 * a gRPC channel (HTTP/2, TLS) is expensive to set up and multiplexes every call. The client
 * library is loaded on the first Temporal task (dynamic import), so workers that never run one
 * do not pay for it. Entries are keyed by a hash of the settings (never the settings: no key or
 * certificate sits in a map key or a log line) and closed with the bundle.
 *
 * A new connection is checked once with GetSystemInfo (as the SDK's own `connect` does, but as
 * an ordinary call that fails fast with the channel's error rather than waiting for readiness
 * until a deadline, so a TLS failure is reported as one); a connection whose check fails is
 * closed and forgotten, so the next task connects anew.
 */
import type { Connection, ConnectionOptions } from '@temporalio/client';
import { settingsKey, type TemporalSettings } from './connection-settings.js';
import { GrpcStatus } from './classify.js';

export type TemporalClientModule = typeof import('@temporalio/client');

let clientModule: Promise<TemporalClientModule> | undefined;

/** The client library, imported on first use. */
export function loadTemporalClient(): Promise<TemporalClientModule> {
  clientModule ??= import('@temporalio/client');
  return clientModule;
}

export interface TemporalConnectionOptions {
  /** Deadline of the connection check (GetSystemInfo). */
  readonly connectTimeoutMs: number;
  /** Attempts of one call on a retryable gRPC status (the client's retry interceptor); the worker retries the task beyond that. */
  readonly rpcAttempts: number;
}

export const DEFAULT_TEMPORAL_CONNECTION_OPTIONS: TemporalConnectionOptions = { connectTimeoutMs: 10_000, rpcAttempts: 3 };

export interface TemporalHandle {
  readonly connection: Connection;
  readonly module: TemporalClientModule;
}

interface Entry {
  readonly ready: Promise<TemporalHandle>;
  connection?: Connection;
}

/** Races a promise against the task's signal: the call itself is cancelled by the client. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export class TemporalConnectionCache {
  readonly #options: TemporalConnectionOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: TemporalConnectionOptions = DEFAULT_TEMPORAL_CONNECTION_OPTIONS) {
    this.#options = options;
  }

  /** How many connections exist (one per distinct credential set used so far). */
  get size(): number {
    return this.#entries.size;
  }

  /** The checked connection for these settings; a task's abort stops the wait, not a shared check. */
  async get(settings: TemporalSettings, signal: AbortSignal): Promise<TemporalHandle> {
    if (this.#closed) throw new Error('the Temporal connection cache is closed');
    const key = settingsKey(settings);
    let entry = this.#entries.get(key);
    if (!entry) {
      const created: Entry = { ready: Promise.resolve(undefined as never) };
      const ready = this.#open(settings, created).catch((error: unknown) => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
        void created.connection?.close().catch(() => undefined);
        throw error;
      });
      (created as { ready: Promise<TemporalHandle> }).ready = ready;
      entry = created;
      this.#entries.set(key, entry);
    }
    return untilAborted(entry.ready, signal);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.ready).connection.close()));
  }

  async #open(settings: TemporalSettings, entry: Entry): Promise<TemporalHandle> {
    const module = await loadTemporalClient();
    const options: ConnectionOptions = {
      address: settings.address,
      connectTimeout: this.#options.connectTimeoutMs,
      interceptors: [module.makeGrpcRetryInterceptor(module.defaultGrpcRetryOptions({ maxAttempts: this.#options.rpcAttempts }))],
      ...(settings.tls
        ? {
            tls: {
              ...(settings.tls.serverNameOverride ? { serverNameOverride: settings.tls.serverNameOverride } : {}),
              ...(settings.tls.serverRootCACertificate ? { serverRootCACertificate: Buffer.from(settings.tls.serverRootCACertificate) } : {}),
              ...(settings.tls.clientCertPair
                ? { clientCertPair: { crt: Buffer.from(settings.tls.clientCertPair.crt), key: Buffer.from(settings.tls.clientCertPair.key) } }
                : {}),
            },
          }
        : {}),
      ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    };
    const connection = module.Connection.lazy(options);
    entry.connection = connection;
    try {
      await connection.withDeadline(Date.now() + this.#options.connectTimeoutMs, () => connection.workflowService.getSystemInfo({}));
    } catch (error) {
      // Servers older than GetSystemInfo answer UNIMPLEMENTED: the SDK accepts them, so do we.
      if ((error as { code?: unknown }).code !== GrpcStatus.UNIMPLEMENTED) throw error;
    }
    return { connection, module };
  }
}
