/**
 * Stopping a statement the server is running. pg's `client.query` takes no AbortSignal, and
 * closing our socket is not enough: the backend notices a vanished client only when it next
 * writes to it, so a `pg_sleep(30)` would run on for 30 s. `pg_cancel_backend(pid)` from a
 * separate, unpooled connection stops it at once. The same role may cancel its own backends.
 */
import type { Client, ClientConfig } from 'pg';
import { pgLibrary } from './library.js';

const CANCEL_CONNECT_TIMEOUT_MS = 5_000;

/** Resolves true when the server signalled the backend; never rejects. */
export async function cancelBackend(config: ClientConfig, pid: number): Promise<boolean> {
  let client: Client;
  try {
    // Loaded already: a statement to cancel ran through pg.
    const pg = await pgLibrary();
    client = new pg.Client({ ...config, connectionTimeoutMillis: CANCEL_CONNECT_TIMEOUT_MS, query_timeout: CANCEL_CONNECT_TIMEOUT_MS });
  } catch {
    return false;
  }
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ cancelled: boolean }>('SELECT pg_cancel_backend($1) AS cancelled', [pid]);
    return result.rows[0]?.cancelled === true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
