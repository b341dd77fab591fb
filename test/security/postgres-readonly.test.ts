/**
 * Hostile corpus, family "read-only that a superuser cannot escape": com.datadoghq.postgresql.select
 * through the real control plane, runner and worker processes, with a connection that logs in as
 * the PostgreSQL superuser `postgres` (127.0.0.1:5432, db `test`), so only our check stands between
 * the task and COPY TO PROGRAM, server files, large objects, locks, signals and sequences. Each case
 * asserts PAR_ERR_POSTGRES_READ_ONLY and that the database or the file system saw nothing; at the
 * end no secret (the credential file's password) is in any result, log or Redis key, and every
 * process is healthy. Objects live in the test's own schema `par_sec_<random>`, dropped after.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startSystem, type System } from '../helpers/system.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const SELECT = 'com.datadoghq.postgresql.select';
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

describe('security: PostgreSQL select stays read-only for a superuser', () => {
  const id = randomBytes(5).toString('hex');
  const schema = `par_sec_${id}`;
  // Trust authentication ignores it; it must still never come back anywhere.
  const password = `pg-secret-${randomBytes(12).toString('hex')}`;
  const secrets = secretForms(password);
  const markers: string[] = [];
  let system: System;
  let admin: pg.Client;
  let connectionId: string;
  /** A superuser whose role defaults would make the server lex a text unlike our parser. */
  const trickyRole = `${schema}_su`;
  let trickyConnectionId: string;
  let largeObject: number;
  /** Set when this test installed dblink itself (and so removes it). */
  let dblinkSchema: string | undefined;
  let dblinkCreated = false;
  const results: unknown[] = [];

  before(async () => {
    admin = new pg.Client(ADMIN);
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.items (id int PRIMARY KEY, name text NOT NULL)`);
    await admin.query(`INSERT INTO ${schema}.items SELECT i, 'item-' || i FROM generate_series(1, 5) i`);
    await admin.query(`CREATE SEQUENCE ${schema}.seq START 100`);
    await admin.query(`CREATE PROCEDURE ${schema}.add_item() LANGUAGE sql AS $$ INSERT INTO ${schema}.items VALUES (900, 'proc') $$`);
    await admin.query(
      `CREATE FUNCTION ${schema}.sneaky() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO ${schema}.items VALUES (901, 'fn') RETURNING 1 $$`,
    );
    largeObject = Number((await admin.query<{ oid: string }>(`SELECT lo_from_bytea(0, 'large object secret') AS oid`)).rows[0]?.oid);
    const available = await admin.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'dblink'`);
    if (available.rowCount) {
      const installed = await admin.query<{ nspname: string }>(
        `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink'`,
      );
      if (installed.rows[0]) {
        dblinkSchema = installed.rows[0].nspname;
      } else {
        await admin.query(`CREATE EXTENSION dblink SCHEMA ${schema}`);
        dblinkSchema = schema;
        dblinkCreated = true;
      }
    }

    await admin.query(`CREATE ROLE ${trickyRole} SUPERUSER LOGIN`);
    await admin.query(`ALTER ROLE ${trickyRole} SET standard_conforming_strings = off`);
    await admin.query(`ALTER ROLE ${trickyRole} SET client_encoding = 'SJIS'`);

    system = await startSystem({ allowlist: 'com.datadoghq.postgresql.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    const writeTokens = async (file: string, user: string) => {
      const tokens = { host: '127.0.0.1', port: '5432', user, password, database: 'test', sslmode: 'disable' };
      await writeFile(
        join(system.configDir, 'credentials', file),
        JSON.stringify({
          auth_type: 'Token Auth',
          credentials: Object.entries(tokens).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
        }),
      );
    };
    await writeTokens('pg.json', 'postgres');
    await writeTokens('pg-tricky.json', trickyRole);
    connectionId = await system.createConnection({
      integration: 'postgresql',
      name: 'pg-superuser',
      credentialPath: 'credentials/pg.json',
    });
    trickyConnectionId = await system.createConnection({
      integration: 'postgresql',
      name: 'pg-tricky',
      credentialPath: 'credentials/pg-tricky.json',
    });
  });

  after(async () => {
    await system.stop();
    for (const m of markers) await rm(m, { force: true });
    await admin.query('SELECT lo_unlink($1)', [largeObject]).catch(() => undefined);
    if (dblinkCreated) await admin.query('DROP EXTENSION IF EXISTS dblink').catch(() => undefined);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`DROP ROLE IF EXISTS ${trickyRole}`);
    await admin.end();
  });

  function marker(name: string): string {
    const path = join(tmpdir(), `par-sec-${id}-${name}`);
    markers.push(path);
    return path;
  }

  async function select(query: string, parameters: unknown[] = [], connection = connectionId) {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: SELECT,
      connectionId: connection,
      inputs: { query, parameters },
      timeoutMs: 20_000,
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    results.push(done);
    return done;
  }

  async function refused(query: string, names?: RegExp, parameters: unknown[] = []): Promise<void> {
    const done = await select(query, parameters);
    assert.equal(done.state, 'failed', `accepted: ${query}`);
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_POSTGRES_READ_ONLY', JSON.stringify(done.outcome));
    assert.equal(done.outcome.error.retryable, false);
    if (names) assert.match(done.outcome.error.message, names);
  }

  const itemCount = async () => (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.items`)).rows[0]?.n;

  test('control: an ordinary read through the same connection succeeds', async () => {
    const done = await select(`SELECT id, name FROM ${schema}.items WHERE id <= $1 ORDER BY id`, [2]);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual((done.outcome?.output as { rows: unknown[] }).rows, [
      { id: 1, name: 'item-1' },
      { id: 2, name: 'item-2' },
    ]);
  });

  test('COPY ... TO PROGRAM runs nothing', async () => {
    const file = marker('program');
    await refused(`COPY (SELECT 1) TO PROGRAM 'touch ${file}'`, /COPY/);
    await refused(`copy ${schema}.items to program 'touch ${file}'`, /COPY/);
    assert.equal(existsSync(file), false, 'the program ran');
  });

  test('COPY ... TO a server file writes nothing', async () => {
    const file = marker('copy.csv');
    await refused(`COPY ${schema}.items TO '${file}'`, /COPY/);
    await refused(`COPY (SELECT * FROM ${schema}.items) TO '${file}' WITH (FORMAT csv)`, /COPY/);
    assert.equal(existsSync(file), false, 'the file was written');
  });

  test('server files cannot be read, listed or stat-ed, however the call is spelt', async () => {
    await refused(`SELECT pg_read_file('/etc/passwd')`, /pg_read_file/);
    await refused(`SELECT pg_catalog."pg_read_file"($1)`, /pg_read_file/, ['/etc/passwd']);
    await refused(`SELECT convert_from(PG_READ_BINARY_FILE('/etc/passwd'), 'UTF8')`, /pg_read_binary_file/i);
    await refused(`SELECT ('/etc/passwd'::text).pg_read_file`, /pg_read_file/);
    await refused(`SELECT * FROM (SELECT 1) s WHERE EXISTS (SELECT pg_ls_dir('/'))`, /pg_ls_dir/);
    await refused(`SELECT (pg_stat_file('/etc/passwd')).size`, /pg_stat_file/);
    await refused(`WITH f AS (SELECT pg_read_file('/etc/passwd') AS c) SELECT length(c) FROM f`, /pg_read_file/);
    for (const r of results) assertNoSecretIn(r, ['root:x:0:0', 'root:*:0:0'], 'a task result');
  });

  test('large objects: lo_import reads no file, lo_export writes none', async () => {
    const before = (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0]?.n;
    await refused(`SELECT lo_import('/etc/passwd')`, /lo_import/);
    const file = marker('lo-export');
    await refused(`SELECT lo_export(${largeObject}, '${file}')`, /lo_export/);
    await refused(`SELECT convert_from(lo_get(${largeObject}), 'UTF8')`, /lo_get/);
    assert.equal(existsSync(file), false, 'lo_export wrote the file');
    const afterCount = (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0]?.n;
    assert.equal(afterCount, before);
  });

  test('advisory locks cannot be taken, so none is held afterwards', async () => {
    const key = Number.parseInt(randomBytes(3).toString('hex'), 16);
    await refused(`SELECT pg_advisory_lock(${key})`, /pg_advisory_lock/);
    await refused(`SELECT pg_try_advisory_lock($1)`, /pg_try_advisory_lock/, [key]);
    await refused(`SELECT 1 FROM ${schema}.items WHERE pg_advisory_xact_lock(${key}) IS NULL`, /advisory/);
    const held = await admin.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1`, [key]);
    assert.equal(held.rowCount, 0, 'an advisory lock is held');
  });

  test('pg_terminate_backend / pg_cancel_backend: a victim backend survives', async () => {
    const victim = new pg.Client(ADMIN);
    await victim.connect();
    try {
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await refused(`SELECT pg_terminate_backend(${pid})`, /pg_terminate_backend/);
      await refused(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1`, /pg_cancel_backend/, [pid]);
      assert.equal((await victim.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
    } finally {
      await victim.end();
    }
  });

  test('PREPARE / EXECUTE / DEALLOCATE are refused', async () => {
    await refused(`PREPARE par_sec_p AS SELECT ${schema}.sneaky()`, /PREPARE/);
    await refused('EXECUTE par_sec_p', /EXECUTE/);
    await refused('DEALLOCATE ALL', /DEALLOCATE/);
    assert.equal(await itemCount(), 5);
  });

  test('SET and set_config cannot change the session', async () => {
    await refused(`SET application_name = 'pwned'`, /SET/);
    await refused(`SELECT set_config('application_name', 'pwned', false)`, /set_config/);
    await refused(`SET SESSION AUTHORIZATION DEFAULT`, /SET/);
    await refused(`RESET ALL`, /SET/);
    const done = await select(`SELECT current_setting('application_name') AS app`);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual((done.outcome?.output as { rows: unknown[] }).rows, [{ app: 'par-postgresql' }]);
  });

  test('a data-modifying CTE, SELECT INTO and FOR UPDATE are refused and change nothing', async () => {
    await refused(`WITH d AS (DELETE FROM ${schema}.items RETURNING *) SELECT count(*) FROM d`, /DELETE/);
    await refused(`WITH i AS (INSERT INTO ${schema}.items VALUES (50, 'x') RETURNING *) SELECT * FROM i`, /INSERT/);
    await refused(`SELECT * INTO ${schema}.copied FROM ${schema}.items`, /SELECT INTO/);
    await refused(`SELECT * FROM ${schema}.items FOR UPDATE`, /FOR UPDATE/);
    assert.equal(await itemCount(), 5);
    const copied = await admin.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`${schema}.copied`]);
    assert.equal(copied.rows[0]?.t, null, 'SELECT INTO created a table');
  });

  test('sequences: nextval / setval leave the value unchanged', async () => {
    const state = async () => (await admin.query(`SELECT last_value::int AS v, is_called FROM ${schema}.seq`)).rows[0];
    const before = await state();
    // Refused by our check (the message says so), not only by the read-only transaction.
    await refused(`SELECT nextval('${schema}.seq')`, /refused a call to nextval/);
    await refused(`SELECT setval('${schema}.seq', 5000)`, /refused a call to setval/);
    await refused(`SELECT id FROM ${schema}.items ORDER BY nextval('${schema}.seq')`, /refused a call to nextval/);
    assert.deepEqual(await state(), before);
  });

  test('DO blocks, CALL and several statements are refused', async () => {
    await refused(`DO $$ BEGIN INSERT INTO ${schema}.items VALUES (60, 'do'); END $$`, /DO/);
    await refused(`CALL ${schema}.add_item()`, /CALL/);
    await refused(`SELECT 1; DROP TABLE ${schema}.items`, /2 statements/);
    await refused(`SELECT 1; COMMIT; INSERT INTO ${schema}.items VALUES (61, 'after commit')`, /3 statements/);
    assert.equal(await itemCount(), 5);
  });

  test('SQL text run by a function (query_to_xml, ts_stat) never runs', async () => {
    await refused(`SELECT query_to_xml('DELETE FROM ${schema}.items RETURNING 1', true, true, '')`, /query_to_xml/);
    await refused(`SELECT query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, true, '')`, /query_to_xml/);
    await refused(`SELECT * FROM ts_stat('SELECT to_tsvector(pg_read_file(''/etc/passwd''))')`, /ts_stat/);
    assert.equal(await itemCount(), 5);
  });

  test('EXPLAIN ANALYZE (it runs the statement) is refused', async () => {
    await refused(`EXPLAIN ANALYZE SELECT ${schema}.sneaky()`, /EXPLAIN ANALYZE/);
    await refused(`EXPLAIN (ANALYZE true) SELECT ${schema}.sneaky()`, /EXPLAIN ANALYZE/);
    assert.equal(await itemCount(), 5);
  });

  test('dblink: no second connection outside the read-only transaction', async () => {
    assert.ok(dblinkSchema, 'dblink is available on this server (postgresql-contrib)');
    const conn = 'dbname=test user=postgres host=127.0.0.1';
    await refused(`SELECT ${dblinkSchema}.dblink_exec('${conn}', 'INSERT INTO ${schema}.items VALUES (70, ''dblink'')')`, /dblink_exec/);
    await refused(`SELECT * FROM ${dblinkSchema}.dblink('${conn}', 'SELECT ${schema}.sneaky()') AS r(x int)`, /dblink/);
    assert.equal(await itemCount(), 5);
  });

  test('a function the database defines that writes still meets the read-only transaction (second wall)', async () => {
    await refused(`SELECT ${schema}.sneaky()`, /25006/);
    assert.equal(await itemCount(), 5);
  });

  test('the server lexes the text as our parser did, whatever the role sets (standard_conforming_strings, client_encoding)', async () => {
    const probe = new pg.Client({ ...ADMIN, user: trickyRole });
    await probe.connect();
    try {
      // Control: the role's own defaults really are the dangerous ones.
      assert.equal(
        (await probe.query<{ standard_conforming_strings: string }>('SHOW standard_conforming_strings')).rows[0]
          ?.standard_conforming_strings,
        'off',
      );
    } finally {
      await probe.end();
    }
    // With standard_conforming_strings off, 'a\' does not end at its second quote, the comment our
    // parser saw becomes part of that string, and the server would call pg_read_file.
    const done = await select("SELECT 'a\\' AS x --', pg_read_file('/etc/passwd') AS leaked", [], trickyConnectionId);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const output = done.outcome?.output as { rows: Record<string, unknown>[]; fields: { name: string }[] };
    assert.deepEqual(
      output.fields.map((f) => f.name),
      ['x'],
    );
    assert.deepEqual(output.rows, [{ x: 'a\\' }]);
    assertNoSecretIn(done, ['root:x:0:0'], 'the task result');
    const encoding = await select('SHOW client_encoding', [], trickyConnectionId);
    assert.deepEqual((encoding.outcome?.output as { rows: unknown[] }).rows, [{ client_encoding: 'UTF8' }]);
  });

  test('nothing leaked: no secret in any result, log or Redis key; every process healthy', async () => {
    for (const r of results) assertNoSecretIn(r, secrets, 'a task result');
    await assertNothingLeaked(system, secrets);
  });
});
