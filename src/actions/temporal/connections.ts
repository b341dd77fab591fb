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
 * closed and forgotten, so the next task connects anew. A connection no task has used for
 * `idleCloseMs` is closed on a later acquire (a rotated certificate or key makes a new credential
 * set; the old channel would otherwise keep its socket and keepalive pings for the worker's life).
 */
import type { Connection, ConnectionOptions } from '@temporalio/client';
import { raceAbort } from '../abortable.js';
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
  /** A connection unused for this long (and in use by no task) is closed. */
  readonly idleCloseMs: number;
}

export const DEFAULT_TEMPORAL_CONNECTION_OPTIONS: TemporalConnectionOptions = {
  connectTimeoutMs: 10_000,
  rpcAttempts: 3,
  idleCloseMs: 10 * 60_000,
};

export interface TemporalHandle {
  readonly connection: Connection;
  readonly module: TemporalClientModule;
}

interface Entry {
  readonly ready: Promise<TemporalHandle>;
  connection?: Connection;
  /** Tasks using it now. */
  active: number;
  lastUsed: number;
  /** The check succeeded (a pending or failed one is never swept). */
  checked: boolean;
}

/** A connection borrowed by one task; `release()` when the task is done with it. */
export interface TemporalLease {
  readonly handle: TemporalHandle;
  release(): void;
}

/** Races a promise against the task's signal: the call itself is cancelled by the client. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(promise, signal, () => (signal.reason instanceof Error ? signal.reason : new Error('aborted')));
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
  async acquire(settings: TemporalSettings, signal: AbortSignal): Promise<TemporalLease> {
    if (this.#closed) throw new Error('the Temporal connection cache is closed');
    this.#sweep();
    const key = settingsKey(settings);
    let entry = this.#entries.get(key);
    if (!entry) {
      const created: Entry = { ready: Promise.resolve(undefined as never), active: 0, lastUsed: Date.now(), checked: false };
      const ready = this.#open(settings, created).then(
        (handle) => {
          created.checked = true;
          return handle;
        },
        (error: unknown) => {
          if (this.#entries.get(key) === created) this.#entries.delete(key);
          void created.connection?.close().catch(() => undefined);
          throw error;
        },
      );
      (created as { ready: Promise<TemporalHandle> }).ready = ready;
      entry = created;
      this.#entries.set(key, entry);
    }
    const used = entry;
    used.active += 1;
    used.lastUsed = Date.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      used.active -= 1;
      used.lastUsed = Date.now();
    };
    try {
      return { handle: await untilAborted(used.ready, signal), release };
    } catch (error) {
      release();
      throw error;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.checked && entry.active === 0 && now - entry.lastUsed >= this.#options.idleCloseMs) {
        this.#entries.delete(key);
        void entry.connection?.close().catch(() => undefined);
      }
    }
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
              ...(settings.tls.serverRootCACertificate
                ? { serverRootCACertificate: Buffer.from(settings.tls.serverRootCACertificate) }
                : {}),
              ...(settings.tls.clientCertPair
                ? {
                    clientCertPair: {
                      crt: Buffer.from(settings.tls.clientCertPair.crt),
                      key: Buffer.from(settings.tls.clientCertPair.key),
                    },
                  }
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
