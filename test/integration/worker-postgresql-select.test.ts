/**
 * com.datadoghq.postgresql.select run directly (the bundle, no worker) against the real
 * PostgreSQL on 127.0.0.1:5432. Each run works in its own schema `par_test_<random>`, made and
 * dropped here with a separate client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import type { ActionContext } from '../../src/actions/action.js';
import type { Credentials } from '../../src/contracts/credentials.js';
import { createPostgresqlBundle, type PostgresqlBundle } from '../../src/actions/postgresql/bundle.js';
import { postgresSelectInputSchema } from '../../src/actions/postgresql/inputs.js';
import { runPostgresSelect, type PostgresSelectOutput } from '../../src/actions/postgresql/select.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

function tokens(values: Record<string, string>): Credentials {
  return { authType: 'Token Auth', tokens: values };
}
const GOOD = tokens({ host: '127.0.0.1', port: '5432', user: 'postgres', password: '', database: 'test', sslmode: 'disable' });

describe('postgresql.select against the real server', () => {
  const schema = `par_test_${randomBytes(5).toString('hex')}`;
  let admin: pg.Client;
  let bundle: PostgresqlBundle;
  /** A role without superuser rights, made on first use. */
  let roleName: string | undefined;

  before(async () => {
    admin = new pg.Client(ADMIN);
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.items (id int PRIMARY KEY, name text NOT NULL, born timestamp, data bytea)`);
    await admin.query(`INSERT INTO ${schema}.items SELECT i, 'item-' || i, '2024-01-02 03:04:05', '\\xdead' FROM generate_series(1, 50) i`);
    await admin.query(
      `CREATE FUNCTION ${schema}.sneaky() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO ${schema}.items VALUES (999, 'sneaky') RETURNING 1 $$`,
    );
    bundle = createPostgresqlBundle({ maxRows: 20 });
  });
  after(async () => {
    await bundle.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    if (roleName) await admin.query(`DROP ROLE IF EXISTS ${roleName}`);
    await admin.end();
  });

  function ctx(overrides: Partial<ActionContext> = {}): ActionContext {
    return {
      signal: new AbortController().signal,
      logger,
      configDir: '.',
      limits: { httpMaxResponseBytes: 1024 },
      credentials: GOOD,
      ...overrides,
    };
  }
  const run = (inputs: Record<string, unknown>, c: ActionContext = ctx()): Promise<PostgresSelectOutput> =>
    runPostgresSelect(postgresSelectInputSchema.parse(inputs), c, { pools: bundle.pools, parser: bundle.parser, maxRowsCap: 20 });
  async function failure(p: Promise<unknown>): Promise<ParError> {
    try {
      await p;
    } catch (error) {
      assert.ok(error instanceof ParError, `not a ParError: ${String(error)}`);
      return error;
    }
    assert.fail('expected a failure');
  }
  const count = async () => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.items`)).rows[0]?.n);

  it('binds parameters and returns rows, rowCount and fields', async () => {
    const out = await run({
      query: `SELECT id, name FROM ${schema}.items WHERE id = ANY($1) AND name LIKE $2 ORDER BY id`,
      parameters: [[1, 2, 3], 'item-%'],
    });
    assert.deepEqual(out.rows, [
      { id: 1, name: 'item-1' },
      { id: 2, name: 'item-2' },
      { id: 3, name: 'item-3' },
    ]);
    assert.equal(out.rowCount, 3);
    assert.equal(out.truncated, false);
    assert.deepEqual(out.fields, [
      { name: 'id', dataTypeID: 23 },
      { name: 'name', dataTypeID: 25 },
    ]);
  });

  it('a parameter is a value, never SQL', async () => {
    const out = await run({ query: 'SELECT $1::text AS v', parameters: ["x'; DROP TABLE items; --"] });
    assert.deepEqual(out.rows, [{ v: "x'; DROP TABLE items; --" }]);
    assert.equal(await count(), 50);
  });

  it('returns timestamps and bytea as PostgreSQL prints them, nulls as null', async () => {
    const out = await run({ query: `SELECT born, data, NULL::int AS nothing FROM ${schema}.items WHERE id = $1`, parameters: [7] });
    assert.deepEqual(out.rows, [{ born: '2024-01-02 03:04:05', data: '\\xdead', nothing: null }]);
  });

  it('caps rows at maxRows and reports truncated; exactly maxRows is not truncated', async () => {
    const capped = await run({ query: `SELECT id FROM ${schema}.items ORDER BY id`, maxRows: 5 });
    assert.equal(capped.rowCount, 5);
    assert.deepEqual(
      capped.rows.map((r) => r['id']),
      [1, 2, 3, 4, 5],
    );
    assert.equal(capped.truncated, true);
    const exact = await run({ query: `SELECT id FROM ${schema}.items WHERE id <= 5`, maxRows: 5 });
    assert.equal(exact.rowCount, 5);
    assert.equal(exact.truncated, false);
  });

  it('the worker cap (maxRowsCap) wins over a larger maxRows', async () => {
    const out = await run({ query: `SELECT id FROM ${schema}.items`, maxRows: 1000 });
    assert.equal(out.rowCount, 20);
    assert.equal(out.truncated, true);
  });

  it('the server stops at the cap: an endless set comes back truncated at once', async () => {
    const started = Date.now();
    // In the select list generate_series streams (in FROM it would be materialised first).
    const out = await run({ query: 'SELECT generate_series(1, 100000000) AS i', maxRows: 3 });
    assert.deepEqual(out.rows, [{ i: 1 }, { i: 2 }, { i: 3 }]);
    assert.equal(out.truncated, true);
    assert.ok(Date.now() - started < 2_000, 'the rest of the set was not produced');
  });

  for (const [label, query] of [
    ['INSERT', `INSERT INTO ${schema}.items VALUES (100, 'new')`],
    ['UPDATE', `UPDATE ${schema}.items SET name = 'changed'`],
    ['DELETE', `DELETE FROM ${schema}.items`],
    ['CREATE', `CREATE TABLE ${schema}.other (id int)`],
    ['a writing CTE', `WITH gone AS (DELETE FROM ${schema}.items RETURNING id) SELECT count(*) FROM gone`],
    ['a volatile function that writes', `SELECT ${schema}.sneaky()`],
    ['SELECT FOR UPDATE', `SELECT id FROM ${schema}.items FOR UPDATE`],
  ] as const) {
    it(`refuses ${label} with the read-only code and leaves the table unchanged`, async () => {
      const error = await failure(run({ query }));
      assert.equal(error.code, 'PAR_ERR_POSTGRES_READ_ONLY', error.message);
      assert.equal(error.retryable, false);
      assert.equal(await count(), 50);
      const names = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.items WHERE name <> 'item-' || id`);
      assert.equal(names.rows[0]?.n, 0);
      const tables = await admin.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1`, [schema]);
      assert.equal(tables.rows[0]?.n, 1);
    });
  }

  it('refuses several statements in one text, with or without parameters', async () => {
    const plain = await failure(run({ query: `SELECT 1; DROP TABLE ${schema}.items` }));
    assert.equal(plain.code, 'PAR_ERR_POSTGRES_READ_ONLY', plain.message);
    const withParams = await failure(run({ query: `SELECT $1::int; DROP TABLE ${schema}.items`, parameters: [1] }));
    assert.equal(withParams.code, 'PAR_ERR_POSTGRES_READ_ONLY');
    assert.equal(await count(), 50);
  });

  it('a statement cannot leave the read-only transaction or change its mode', async () => {
    for (const query of ['SET TRANSACTION READ WRITE', 'COMMIT', 'ROLLBACK', 'SET default_transaction_read_only = off']) {
      const error = await failure(run({ query }));
      assert.equal(error.code, 'PAR_ERR_POSTGRES_READ_ONLY', error.message);
    }
    assert.equal(await count(), 50);
  });

  it('a function the database defines that writes still meets the read-only transaction', async () => {
    const error = await failure(run({ query: `SELECT ${schema}.sneaky()` }));
    assert.equal(error.code, 'PAR_ERR_POSTGRES_READ_ONLY', error.message);
    assert.match(error.message, /25006/);
    assert.equal(await count(), 50);
  });

  it('classifies syntax errors, unknown tables, bad parameters and denied privileges as not retryable', async () => {
    const syntax = await failure(run({ query: 'SELEC 1' }));
    assert.equal(syntax.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
    assert.match(syntax.message, /syntax error at or near "SELEC"/);
    const unknown = await failure(run({ query: `SELECT * FROM ${schema}.nope` }));
    assert.equal(unknown.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
    assert.match(unknown.message, /42P01/);
    const tooFew = await failure(run({ query: 'SELECT $1::int + $2::int AS s', parameters: [1] }));
    assert.equal(tooFew.code, 'PAR_ERR_POSTGRES_QUERY_INVALID', tooFew.message);
    const badValue = await failure(run({ query: 'SELECT $1::int AS n', parameters: ['not a number'] }));
    assert.equal(badValue.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
    assert.match(badValue.message, /22P02/);
    const denied = await failure(
      run(
        { query: 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', parameters: ['postgres'] },
        ctx({ credentials: await limitedRole() }),
      ),
    );
    assert.equal(denied.code, 'PAR_ERR_POSTGRES_PERMISSION_DENIED', denied.message);
    for (const e of [syntax, unknown, tooFew, badValue, denied]) assert.equal(e.retryable, false);
  });

  async function limitedRole(): Promise<Credentials> {
    roleName ??= `${schema}_ro`;
    await admin.query(`DO $$ BEGIN CREATE ROLE ${roleName} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    return tokens({ host: '127.0.0.1', port: '5432', user: roleName, database: 'test', sslmode: 'disable' });
  }
  it('the statement timeout stops a long statement with its own code', async () => {
    const started = Date.now();
    const error = await failure(run({ query: 'SELECT pg_sleep(5)', timeout: 200 }));
    assert.equal(error.code, 'PAR_ERR_POSTGRES_STATEMENT_TIMEOUT');
    assert.equal(error.retryable, false);
    assert.ok(Date.now() - started < 2_000);
  });

  it('an abort cancels the running statement on the server', async () => {
    const marker = `par_abort_${randomBytes(4).toString('hex')}`;
    const controller = new AbortController();
    const pending = run({ query: `SELECT pg_sleep(30) AS ${marker}` }, ctx({ signal: controller.signal }));
    const running = () =>
      admin.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`, [`%${marker}%`]);
    await waitUntil(async () => ((await running()).rowCount ? true : undefined), 5_000, 'the statement runs', 20);
    const started = Date.now();
    controller.abort();
    const error = await failure(pending);
    assert.equal(error.code, 'PAR_ERR_TASK_CANCELLED');
    assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
    assert.equal((await running()).rowCount, 0);
  });

  it('an aborted signal never reaches the server', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure(run({ query: `SELECT ${schema}.sneaky()` }, ctx({ signal: controller.signal })));
    assert.equal(error.code, 'PAR_ERR_TASK_CANCELLED');
  });

  it('session state left on a pooled connection (a setting, an advisory lock) is discarded before the next task', async () => {
    const fresh = createPostgresqlBundle();
    try {
      const deps = { pools: fresh.pools, parser: fresh.parser, maxRowsCap: 10 };
      const select = (query: string) => runPostgresSelect(postgresSelectInputSchema.parse({ query }), ctx(), deps);
      const pid = (await select('SELECT pg_backend_pid() AS pid')).rows[0]?.['pid'];
      // What a statement could do if it slipped past the check: done here on the pooled session itself.
      const key = Number.parseInt(randomBytes(3).toString('hex'), 16);
      const lease = await fresh.pools.acquire({
        host: '127.0.0.1',
        port: 5432,
        user: 'postgres',
        password: '',
        database: 'test',
        sslmode: 'disable',
        applicationName: 'par-postgresql',
      });
      assert.equal(lease.backendPid, pid, 'the same pooled connection');
      await lease.client.query(`SET application_name = 'left-behind'`);
      await lease.client.query('SELECT pg_advisory_lock($1)', [key]);
      lease.release(false);
      const out = await select("SELECT current_setting('application_name') AS app, pg_backend_pid() AS pid");
      // This task ran on the dirty session; its own ROLLBACK + DISCARD ALL cleans up after it.
      const after = await select("SELECT current_setting('application_name') AS app, pg_backend_pid() AS pid");
      assert.deepEqual(after.rows[0], { app: 'par-postgresql', pid });
      const got = await admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      assert.equal(got.rows[0]?.ok, true, 'the advisory lock was released by DISCARD ALL');
      await admin.query('SELECT pg_advisory_unlock($1)', [key]);
      assert.equal(out.rows[0]?.['app'], 'left-behind', 'the setup really dirtied the pooled session');
    } finally {
      await fresh.close();
    }
  });

  it('keeps one pool per credential set and reuses its connections', async () => {
    const fresh = createPostgresqlBundle();
    try {
      const deps = { pools: fresh.pools, parser: fresh.parser, maxRowsCap: 10 };
      const pids = new Set<number>();
      for (let i = 0; i < 5; i++) {
        const out = await runPostgresSelect(postgresSelectInputSchema.parse({ query: 'SELECT pg_backend_pid() AS pid' }), ctx(), deps);
        pids.add(out.rows[0]?.['pid'] as number);
      }
      assert.equal(pids.size, 1, 'sequential tasks share one connection');
      assert.equal(fresh.pools.size, 1);
      const other = tokens({ host: '127.0.0.1', user: 'postgres', database: 'test', sslmode: 'disable', password: 'unused-by-trust' });
      await runPostgresSelect(postgresSelectInputSchema.parse({ query: 'SELECT 1' }), ctx({ credentials: other }), deps);
      assert.equal(fresh.pools.size, 2);
    } finally {
      await fresh.close();
    }
  });

  it('sslmode prefer falls back to plain text when the server offers no TLS; require fails with the TLS code', async () => {
    const ssl = (await admin.query<{ ssl: string }>('SHOW ssl')).rows[0]?.ssl;
    const prefer = tokens({ host: '127.0.0.1', user: 'postgres', database: 'test' });
    assert.deepEqual((await run({ query: 'SELECT 1 AS one' }, ctx({ credentials: prefer }))).rows, [{ one: 1 }]);
    if (ssl === 'off') {
      const error = await failure(
        run(
          { query: 'SELECT 1' },
          ctx({ credentials: tokens({ host: '127.0.0.1', user: 'postgres', database: 'test', sslmode: 'require' }) }),
        ),
      );
      assert.equal(error.code, 'PAR_ERR_POSTGRES_TLS');
      assert.equal(error.retryable, false);
    }
  });

  it('missing tokens fail before connecting, naming the token and no value', async () => {
    const secretHost = 'host-secret-7f3a.invalid';
    const error = await failure(
      run({ query: 'SELECT 1' }, ctx({ credentials: tokens({ host: secretHost, password: 'pw-secret-91b', database: 'test' }) })),
    );
    assert.equal(error.code, 'PAR_ERR_POSTGRES_CREDENTIALS_INVALID');
    assert.match(error.message, /"user"/);
    assert.doesNotMatch(error.message, /secret/);
    const badPort = await failure(
      run({ query: 'SELECT 1' }, ctx({ credentials: tokens({ host: 'h', user: 'u', database: 'd', port: 'port-secret' }) })),
    );
    assert.match(badPort.message, /"port"/);
    assert.doesNotMatch(badPort.message, /secret/);
    const none = await failure(run({ query: 'SELECT 1' }, ctx({ credentials: undefined })));
    assert.equal(none.code, 'PAR_ERR_POSTGRES_CREDENTIALS_INVALID');
  });

  it('connection refused is retryable; a failed login is not; neither message carries a credential value', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const refused = await failure(
      run(
        { query: 'SELECT 1' },
        ctx({ credentials: tokens({ host: '127.0.0.1', port: String(port), user: 'postgres', database: 'test', sslmode: 'disable' }) }),
      ),
    );
    assert.equal(refused.code, 'PAR_ERR_POSTGRES_CONNECT');
    assert.equal(refused.retryable, true);
    assert.doesNotMatch(refused.message, new RegExp(String(port)));
    const noDb = await failure(
      run(
        { query: 'SELECT 1' },
        ctx({ credentials: tokens({ host: '127.0.0.1', user: 'postgres', database: `db_secret_${schema}`, sslmode: 'disable' }) }),
      ),
    );
    assert.equal(noDb.code, 'PAR_ERR_POSTGRES_AUTH');
    assert.equal(noDb.retryable, false);
    assert.doesNotMatch(noDb.message, /db_secret/);
    const noUser = await failure(
      run(
        { query: 'SELECT 1' },
        ctx({ credentials: tokens({ host: '127.0.0.1', user: `user_secret_${schema}`, database: 'test', sslmode: 'disable' }) }),
      ),
    );
    assert.equal(noUser.code, 'PAR_ERR_POSTGRES_AUTH');
    assert.doesNotMatch(noUser.message, /user_secret/);
  });
});
