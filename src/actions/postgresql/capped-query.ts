/**
 * Runs one statement with a row cap enforced by the server, not by reading everything and
 * slicing. The extended protocol's Execute message takes a maximum row count: the server sends
 * that many rows and suspends the portal. pg's Query would then ask for the next batch; this one
 * stops there and syncs, and the transaction's ROLLBACK discards the rest.
 *
 * Why not `DECLARE CURSOR ... FETCH`: a cursor only takes a SELECT, so an INSERT or a writing
 * CTE would fail as a syntax or "not supported" error instead of the read-only violation it is.
 * Why not wrap in `SELECT * FROM (...) LIMIT n`: the text could close the parenthesis.
 * The extended protocol also refuses several statements in one text, parameters or not.
 */
import type { ClientBase, FieldDef, QueryConfig } from 'pg';
import { pgLibrary, type PgLibrary } from './library.js';

export interface CappedResult {
  readonly rows: Record<string, unknown>[];
  readonly fields: readonly FieldDef[];
  /** The server had more rows than `maxRows` (the portal was suspended, not completed). */
  readonly truncated: boolean;
  readonly command: string | null;
}

/** The part of pg's internal Connection this query drives (as pg-cursor does). */
interface WireConnection {
  sync(): void;
}

interface ResultShape {
  rows: Record<string, unknown>[];
  fields: FieldDef[];
  command: string | null;
}

/** pg's Query, stopping at the row cap; the class is made once, when pg is loaded. */
function rowLimitedQueryClass(pg: PgLibrary) {
  return class RowLimitedQuery extends pg.Query {
    suspended = false;

    /** Called by pg's Client when the server paused after `rows` rows. */
    handlePortalSuspended(connection: WireConnection): void {
      this.suspended = true;
      connection.sync();
    }

    /**
     * With a row count pg does not send Sync up front, and after an error the server ignores
     * everything until one arrives; a client-side error (a value pg cannot bind) was synced by pg.
     */
    handleError(error: Error, connection: WireConnection): void {
      if (error instanceof pg.DatabaseError) connection.sync();
      (pg.Query.prototype as unknown as { handleError(e: Error, c: WireConnection): void }).handleError.call(this, error, connection);
    }
  };
}

let RowLimitedQuery: ReturnType<typeof rowLimitedQueryClass> | undefined;

export async function runCappedQuery(client: ClientBase, text: string, values: readonly unknown[], maxRows: number): Promise<CappedResult> {
  // Loaded already: the client came from pg.
  RowLimitedQuery ??= rowLimitedQueryClass(await pgLibrary());
  const Query = RowLimitedQuery;
  return new Promise((resolve, reject) => {
    // `rows` (pg's per-Execute row count) is missing from @types/pg.
    const config: QueryConfig & { rows: number } = { text, values: [...values], rows: maxRows + 1 };
    const query = new Query(config, (error: Error | undefined, result: unknown) => {
      if (error) {
        reject(error);
        return;
      }
      // One statement gives one result; pg returns an array only for several.
      const r = (Array.isArray(result) ? result[0] : result) as ResultShape;
      const truncated = query.suspended || r.rows.length > maxRows;
      resolve({ rows: truncated ? r.rows.slice(0, maxRows) : r.rows, fields: r.fields, truncated, command: r.command });
    });
    client.query(query);
  });
}
