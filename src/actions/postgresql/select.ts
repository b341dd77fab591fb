/**
 * `com.datadoghq.postgresql.select`: one parameterised read, checked, then run in a read-only
 * transaction.
 *
 *   parse with PostgreSQL's grammar; refuse unless one read (read-only-statement.ts)   (no connection yet)
 *   BEGIN READ ONLY; SET LOCAL statement_timeout = <t>, standard_conforming_strings; SELECT 1
 *   <query> with $1.. bound, Execute capped at maxRows + 1      (extended protocol: one statement)
 *   ROLLBACK, then DISCARD ALL                                   (never COMMIT)
 *
 * The check refuses COPY, writes, locking clauses, SELECT INTO and calls to file, program,
 * large-object, session and backend-control functions, which a read-only transaction lets a
 * superuser run. The read-only transaction and the statement timeout stay as the second wall:
 * a database's own function that writes still fails with PostgreSQL's read-only error. On abort
 * the running statement is cancelled on the server and the connection is closed rather than
 * returned to the pool.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { cancelBackend } from './cancel.js';
import { runCappedQuery } from './capped-query.js';
import { classifyPostgresError } from './classify.js';
import { settingsFromCredentials, type PostgresSettings } from './connection-settings.js';
import { postgresSelectInputSchema, type PostgresSelectInput } from './inputs.js';
import type { PostgresLease, PostgresPoolCache } from './pools.js';
import { assertOneReadStatement } from './read-only-statement.js';
import type { SqlParser } from './sql-parser.js';

export const POSTGRES_SELECT_FQN = 'com.datadoghq.postgresql.select';

export interface PostgresSelectOutput {
  rows: Record<string, unknown>[];
  rowCount: number;
  fields: Array<{ name: string; dataTypeID: number }>;
  truncated: boolean;
}

export interface SelectDeps {
  readonly pools: PostgresPoolCache;
  readonly parser: SqlParser;
  /** The worker's hard cap on rows per task (PAR_POSTGRES_MAX_ROWS). */
  readonly maxRowsCap: number;
}

/**
 * What a statement could leave on a pooled session despite the ROLLBACK (session settings,
 * advisory locks, prepared statements, LISTEN, temporary tables, sequence state) is reset before
 * the connection goes back to the pool. DISCARD ALL cannot share a message with ROLLBACK (it
 * refuses to run in the implicit transaction of a multi-statement text), hence two round trips.
 */
const END_TRANSACTION = ['ROLLBACK', 'DISCARD ALL'] as const;
/** After an abort the cancel has this long to stop the statement before the socket is cut. */
const CANCEL_GRACE_MS = 2_000;

function cancelled(): ParError {
  return new ParError('PAR_ERR_TASK_CANCELLED', 'aborted before the statement ran');
}

/** pool.connect() takes no signal: on abort, stop waiting and hand the connection back when it comes. */
function acquire(pools: PostgresPoolCache, settings: PostgresSettings, signal: AbortSignal): Promise<PostgresLease> {
  if (signal.aborted) return Promise.reject(cancelled());
  const pending = pools.acquire(settings);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      pending.then(
        (lease) => lease.release(false),
        () => undefined,
      );
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (lease) => {
        signal.removeEventListener('abort', onAbort);
        resolve(lease);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(classifyPostgresError(error, { phase: 'connect', taskSignal: signal }));
      },
    );
  });
}

export async function runPostgresSelect(inputs: PostgresSelectInput, ctx: ActionContext, deps: SelectDeps): Promise<PostgresSelectOutput> {
  const settings = settingsFromCredentials(ctx.credentials);
  const maxRows = Math.min(inputs.maxRows, deps.maxRowsCap);
  ctx.logger.debug(
    { queryChars: inputs.query.length, parameters: inputs.parameters.length, maxRows, timeoutMs: inputs.timeout },
    'postgresql select',
  );

  // Checked before any connection: a refused statement never reaches the server.
  assertOneReadStatement(await deps.parser.parse(inputs.query));
  if (ctx.signal.aborted) throw cancelled();

  const lease = await acquire(deps.pools, settings, ctx.signal);
  let destroy = false;
  let cancelling: Promise<unknown> | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    destroy = true;
    if (lease.backendPid !== undefined) cancelling = cancelBackend(lease.clientConfig, lease.backendPid);
    // If the cancel cannot reach the server, cutting the socket at least frees this task.
    graceTimer = setTimeout(() => lease.destroySocket(), CANCEL_GRACE_MS);
    graceTimer.unref();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // `timeout` is a validated integer, so it can be part of the text (SET takes no parameters).
    // The SELECT takes the transaction's first snapshot: from then on PostgreSQL refuses
    // `SET TRANSACTION READ WRITE`, which it would otherwise still allow as the task's statement.
    // standard_conforming_strings must be on, as for our parser: with it off (a role or database
    // default), 'a\' ends differently and the server would read a text other than the one checked.
    await lease.client.query(
      `BEGIN READ ONLY; SET LOCAL statement_timeout = ${inputs.timeout}; SET LOCAL standard_conforming_strings = on; SELECT 1`,
    );
    const result = await runCappedQuery(lease.client, inputs.query, inputs.parameters, maxRows);
    return {
      rows: result.rows,
      rowCount: result.rows.length,
      fields: result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      truncated: result.truncated,
    };
  } catch (error) {
    throw classifyPostgresError(error, { phase: 'query', taskSignal: ctx.signal, statementTimeoutMs: inputs.timeout });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- onAbort sets it while the query is awaited
    if (!destroy) {
      try {
        for (const statement of END_TRANSACTION) await lease.client.query(statement);
      } catch {
        destroy = true;
      }
    }
    // Release only once the cancel is done, so it cannot hit a statement of the next borrower.
    if (cancelling) await cancelling;
    if (graceTimer) clearTimeout(graceTimer);
    lease.release(destroy);
  }
}

export function postgresSelectAction(deps: SelectDeps): RegisteredAction {
  return defineAction({
    fqn: POSTGRES_SELECT_FQN,
    inputSchema: postgresSelectInputSchema,
    run: (inputs, ctx) => runPostgresSelect(inputs, ctx, deps),
  });
}
