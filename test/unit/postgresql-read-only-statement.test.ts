/**
 * The read-only statement check: each text goes through the real parser (libpg-query in its
 * thread) and the classifier, no database. Accepted reads must pass untouched; every refused text
 * must fail with PAR_ERR_POSTGRES_READ_ONLY naming what was refused; text PostgreSQL would not
 * parse fails with PAR_ERR_POSTGRES_QUERY_INVALID.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeniedFunction } from '../../src/actions/postgresql/denied-functions.js';
import { assertOneReadStatement } from '../../src/actions/postgresql/read-only-statement.js';
import { SqlParser } from '../../src/actions/postgresql/sql-parser.js';
import { ParError } from '../../src/errors/par-error.js';

const parser = new SqlParser();

async function check(text: string): Promise<void> {
  assertOneReadStatement(await parser.parse(text));
}
async function failure(text: string): Promise<ParError> {
  try {
    await check(text);
  } catch (error) {
    assert.ok(error instanceof ParError, `not a ParError: ${String(error)}`);
    return error;
  }
  assert.fail(`accepted: ${text}`);
}

const ACCEPTED = [
  'SELECT 1',
  'select id, name from app.services where tier = $1 order by id limit 10',
  'SELECT * FROM t WHERE id = ANY($1::int[])',
  "WITH recent AS (SELECT * FROM events WHERE at > now() - interval '1 day') SELECT count(*) FROM recent",
  'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SEARCH DEPTH FIRST BY n SET ord SELECT * FROM r',
  "VALUES (1, 'a'), (2, 'b')",
  'TABLE app.services',
  'SHOW work_mem',
  'SHOW ALL',
  'EXPLAIN SELECT * FROM t WHERE id = 1',
  'EXPLAIN (COSTS false, FORMAT json) SELECT 1',
  'SELECT a, count(*) FILTER (WHERE b > 1) OVER (PARTITION BY c ORDER BY d) FROM t GROUP BY GROUPING SETS ((a), (a, c), ())',
  'SELECT x.* FROM t, LATERAL (SELECT * FROM u WHERE u.t_id = t.id) x',
  'SELECT * FROM generate_series(1, 3) AS g(i) JOIN t ON t.id = g.i',
  'SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY[1, 2])) AS r(a, b)',
  "SELECT jsonb_path_query(data, '$.a'), data->>'k', data #> '{a,b}' FROM t",
  "SELECT json_object('a': 1), json_array(1, 2), json_arrayagg(x ORDER BY x) FROM t",
  "SELECT * FROM json_table('[{\"a\":1}]', '$[*]' COLUMNS (a int PATH '$.a')) jt",
  "SELECT * FROM xmltable('/r/i' PASSING xmlparse(document '<r><i>1</i></r>') COLUMNS i int PATH '.')",
  'SELECT CASE WHEN a IS NULL THEN 0 ELSE a END, coalesce(b, 1), greatest(1, 2), nullif(a, b) FROM t',
  'SELECT current_user, current_timestamp, session_user',
  'SELECT $1::text COLLATE "C" < \'b\'',
  'SELECT (SELECT max(id) FROM t) AS m, EXISTS (SELECT 1 FROM u) AS e',
  'SELECT * FROM t TABLESAMPLE SYSTEM (10)',
  'SELECT pg_sleep(0.01)',
  'SELECT pg_size_pretty(pg_database_size(current_database())), pg_backend_pid()',
  'SELECT * FROM pg_stat_activity',
  'SELECT a FROM t UNION SELECT b FROM u EXCEPT SELECT c FROM v',
  "SELECT table_to_xml('t'::regclass, true, false, '')",
  'SELECT make_interval(days => 2)',
  '/* a comment */ SELECT 1 -- and one more',
  'SELECT 1;',
  // Denied names inside strings, comments and quoted aliases are text, not calls.
  "SELECT $$pg_read_file('/etc/passwd')$$ AS t, 'COPY x TO PROGRAM ''y''' AS u /* pg_ls_dir('/') */",
  "SELECT 1 AS \"nextval\", E'pg_read_file(\\'/x\\')' AS e",
];

const REFUSED: Array<[string, RegExp]> = [
  ["COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'", /COPY/],
  ["COPY t TO '/tmp/t.csv'", /COPY/],
  ["COPY t FROM '/etc/passwd'", /COPY/],
  ["SELECT pg_read_file('/etc/passwd')", /pg_read_file/],
  ["SELECT pg_catalog.pg_read_file('/etc/passwd')", /pg_read_file/],
  ['SELECT "pg_read_file"(\'/etc/passwd\')', /pg_read_file/],
  ["SELECT PG_READ_FILE('/etc/passwd')", /pg_read_file/i],
  ['SELECT "PG_READ_FILE"(\'/etc/passwd\')', /PG_READ_FILE/],
  ['SELECT U&"pg\\005fread\\005ffile"(\'/etc/passwd\')', /pg_read_file/],
  ["SELECT ('/etc/passwd'::text).pg_read_file", /pg_read_file.*attribute/],
  ["SELECT x.pg_read_file FROM (SELECT '/etc/passwd'::text) AS x", /pg_read_file/],
  ["SELECT convert_from(pg_read_binary_file('/etc/passwd'), 'utf8')", /pg_read_binary_file/],
  ["SELECT length(x) FROM (SELECT pg_ls_dir('/') AS x) s", /pg_ls_dir/],
  ['SELECT * FROM pg_ls_waldir()', /pg_ls_waldir/],
  ["SELECT (pg_stat_file('/etc/passwd')).size", /pg_stat_file/],
  ["SELECT pg_catalog . pg_read_file/* gap */\n(\n'/etc/passwd')", /pg_read_file/],
  ['SELECT pg_read_file', /pg_read_file/],
  ['SELECT t.lo_get FROM (SELECT 1::oid) AS t(x)', /lo_get/],
  ["VALUES (nextval('s'))", /nextval/],
  ["SELECT * FROM t WHERE a = (SELECT set_config('role', 'x', true))", /set_config/],
  ["SELECT coalesce(NULL, pg_read_file('/etc/passwd'))", /pg_read_file/],
  ['SELECT CASE WHEN true THEN lo_unlink(1) END', /lo_unlink/],
  ['SELECT array_agg(x ORDER BY pg_advisory_lock(1)) FROM t', /pg_advisory_lock/],
  ["SELECT json_object('k': pg_read_file('/x'))", /pg_read_file/],
  ["SELECT * FROM xmltable('/r' PASSING xmlparse(document pg_read_file('/x.xml')) COLUMNS a text)", /pg_read_file/],
  ["WITH f AS (SELECT pg_read_file('/etc/passwd') AS c) SELECT c FROM f", /pg_read_file/],
  ["SELECT 1 WHERE EXISTS (SELECT lo_import('/etc/passwd'))", /lo_import/],
  ["SELECT lo_export(1234, '/tmp/x')", /lo_export/],
  ['SELECT loread(lo_open(1, 262144), 10)', /lo(read|_open)/],
  ["SELECT dblink_exec('dbname=test', 'DROP TABLE t')", /dblink_exec/],
  ["SELECT * FROM public.dblink('dbname=test', 'select 1') AS r(a int)", /dblink/],
  ['SELECT pg_terminate_backend(12345)', /pg_terminate_backend/],
  ['SELECT pg_cancel_backend(pid) FROM pg_stat_activity', /pg_cancel_backend/],
  ['SELECT pg_advisory_lock(1)', /pg_advisory_lock/],
  ['SELECT pg_try_advisory_xact_lock_shared(1)', /advisory/],
  ["SELECT set_config('work_mem', '1GB', false)", /set_config/],
  ['SELECT pg_reload_conf()', /pg_reload_conf/],
  ['SELECT pg_rotate_logfile()', /pg_rotate_logfile/],
  ['SELECT pg_switch_wal()', /pg_switch_wal/],
  ["SELECT pg_create_restore_point('x')", /pg_create_restore_point/],
  ["SELECT * FROM pg_logical_slot_get_changes('s', NULL, NULL)", /pg_logical_slot_get_changes/],
  ["SELECT pg_create_logical_replication_slot('s', 'test_decoding')", /replication_slot/],
  ["SELECT nextval('s')", /nextval/],
  ["SELECT setval('s', 1)", /setval/],
  ["SELECT currval('s')", /currval/],
  ["SELECT pg_notify('c', 'm')", /pg_notify/],
  ['SELECT pg_stat_reset()', /pg_stat_reset/],
  ["SELECT query_to_xml('delete from t returning 1', true, true, '')", /query_to_xml/],
  ["SELECT ts_stat('select to_tsvector(pg_read_file(''/etc/passwd''))')", /ts_stat/],
  ['SELECT txid_current()', /txid_current/],
  ["SELECT * FROM crosstab('select pg_read_file(''/etc/passwd'')') AS ct(a text)", /crosstab/],
  ["SELECT * FROM public.connectby('t', 'id', 'parent', '1', 0) AS c(id int, parent int, level int)", /connectby/],
  ["SELECT cast(nextval('s') AS text)", /nextval/],
  ["SELECT * FROM t WHERE id IN (SELECT a FROM u WHERE b = lower(pg_read_file('/x')))", /pg_read_file/],
  ["SELECT count(*) OVER (ORDER BY nextval('s')) FROM t", /nextval/],
  ["SELECT * FROM t ORDER BY setval('s', 5)", /setval/],
  ['SELECT * FROM t FOR UPDATE', /FOR UPDATE/],
  ['SELECT * FROM t FOR SHARE SKIP LOCKED', /FOR UPDATE\/SHARE/],
  ['SELECT * FROM (SELECT * FROM t FOR NO KEY UPDATE) s', /FOR UPDATE\/SHARE/],
  ['SELECT 1 AS a INTO new_table', /SELECT INTO/],
  ['WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', /DELETE/],
  ['WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM i', /INSERT/],
  ['WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u', /UPDATE/],
  ['SELECT 1; SELECT 2', /2 statements/],
  ['SELECT 1; DROP TABLE t', /2 statements/],
  ['INSERT INTO t VALUES (1)', /INSERT/],
  ['UPDATE t SET a = 1', /UPDATE/],
  ['DELETE FROM t', /DELETE/],
  ['MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE', /MERGE/],
  ['DROP TABLE t', /DROP/],
  ['CREATE TABLE x (a int)', /CREATE/],
  ['TRUNCATE t', /TRUNCATE/],
  ['PREPARE p AS SELECT 1', /PREPARE/],
  ['EXECUTE p', /EXECUTE/],
  ['DEALLOCATE ALL', /DEALLOCATE/],
  ['DO $$ BEGIN PERFORM pg_sleep(0); END $$', /DO/],
  ['CALL some_procedure()', /CALL/],
  ["SET work_mem = '1GB'", /SET/],
  ['SET SESSION AUTHORIZATION DEFAULT', /SET/],
  ['RESET ALL', /SET/],
  ['SET TRANSACTION READ WRITE', /SET/],
  ['COMMIT', /transaction command/],
  ['BEGIN', /transaction command/],
  ['DECLARE c CURSOR FOR SELECT 1', /DECLARE CURSOR/],
  ['LISTEN chan', /LISTEN/],
  ["NOTIFY chan, 'x'", /NOTIFY/],
  ['LOCK TABLE t', /LOCK/],
  ['VACUUM t', /VACUUM/],
  ['ANALYZE t', /VACUUM\/ANALYZE/],
  ['CHECKPOINT', /CHECKPOINT/],
  ["LOAD 'plpgsql'", /LOAD/],
  ['DISCARD ALL', /DISCARD/],
  ['CREATE TABLE x AS SELECT 1', /CREATE TABLE AS/],
  ['EXPLAIN ANALYZE SELECT 1', /EXPLAIN ANALYZE/],
  ['EXPLAIN (ANALYZE) SELECT 1', /EXPLAIN ANALYZE/],
  ['EXPLAIN (ANALYZE false) SELECT 1', /EXPLAIN ANALYZE/],
  ['EXPLAIN (analyse true, buffers) SELECT 1', /EXPLAIN ANALYZE/],
  ['EXPLAIN DELETE FROM t', /EXPLAIN of DELETE/],
  ["EXPLAIN SELECT pg_read_file('/etc/passwd')", /pg_read_file/],
  ['EXPLAIN CREATE TABLE x AS SELECT 1', /EXPLAIN of/],
  ['SELECT * FROM t TABLESAMPLE pg_read_file (10)', /pg_read_file/],
  ['GRANT ALL ON t TO public', /GRANT/],
  ["ALTER SYSTEM SET work_mem = '1GB'", /ALTER SYSTEM/],
  ['REFRESH MATERIALIZED VIEW v', /REFRESH/],
];

describe('the read-only statement check (real PostgreSQL grammar)', () => {
  after(() => parser.close());

  for (const text of ACCEPTED) {
    it(`accepts ${text}`, async () => {
      await check(text);
    });
  }

  for (const [text, reason] of REFUSED) {
    it(`refuses ${text}`, async () => {
      const error = await failure(text);
      assert.equal(error.code, 'PAR_ERR_POSTGRES_READ_ONLY', error.message);
      assert.equal(error.retryable, false);
      assert.match(error.message, reason);
    });
  }

  it('a syntax error is a non-retryable invalid query naming where', async () => {
    const error = await failure('SELEC 1');
    assert.equal(error.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
    assert.equal(error.retryable, false);
    assert.match(error.message, /syntax error at or near "SELEC" \(at character 1\)/);
  });

  it('a text of only comments or blanks holds no statement', async () => {
    const error = await failure('-- nothing\n  ');
    assert.equal(error.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
  });

  it('refuses a NUL character: the server would read past what was checked', async () => {
    const error = await failure('SELECT 1\u0000; DROP TABLE t');
    assert.equal(error.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
    assert.match(error.message, /NUL/);
  });

  it('a statement too deep for the parser is refused and the next one parses on a fresh thread', async () => {
    // One such statement leaks ~40 MB of the WASM heap; ~25 in one thread abort the module.
    const before = process.exitCode;
    await check('SELECT 1');
    const threads = parser.threadsStarted;
    for (let i = 0; i < 3; i++) {
      const error = await failure(`SELECT 1${'+1'.repeat(100_000)}`);
      assert.equal(error.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
      assert.match(error.message, /too large or too deeply nested/);
    }
    await check('SELECT 1');
    assert.equal(parser.threadsStarted, threads + 3, 'each failure replaced the thread');
    const brackets = await failure(`SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`);
    assert.equal(brackets.code, 'PAR_ERR_POSTGRES_QUERY_INVALID');
    await check('SELECT 1');
    assert.equal(process.exitCode, before, 'the parser never sets the process exit code');
  });

  it('a parse that takes too long is stopped and refused', async () => {
    const slow = new SqlParser({ parseTimeoutMs: 1 });
    try {
      const big = `SELECT ${Array.from({ length: 50_000 }, (_, i) => `c${i}`).join(', ')} FROM t`;
      await assert.rejects(
        slow.parse(big),
        (error: unknown) =>
          error instanceof ParError && error.code === 'PAR_ERR_POSTGRES_QUERY_INVALID' && /took longer/.test(error.message),
      );
    } finally {
      await slow.close();
    }
  });

  it('concurrent parses each get their own answer', async () => {
    const texts = ['SELECT 1', "SELECT pg_read_file('/x')", 'SELEC 1', 'SHOW work_mem', 'SELECT 1; SELECT 2'];
    const outcomes = await Promise.all(
      texts.map((t) =>
        check(t).then(
          () => 'ok',
          (e: unknown) => (e as ParError).code,
        ),
      ),
    );
    assert.deepEqual(outcomes, ['ok', 'PAR_ERR_POSTGRES_READ_ONLY', 'PAR_ERR_POSTGRES_QUERY_INVALID', 'ok', 'PAR_ERR_POSTGRES_READ_ONLY']);
  });

  it('the function denylist matches families and folds case, and leaves ordinary functions alone', () => {
    for (const name of [
      'pg_read_file',
      'PG_LS_DIR',
      'lo_unlink',
      'dblink_connect',
      'pg_try_advisory_lock',
      'pg_stat_statements_reset',
      'query_to_xmlschema',
      'pg_drop_replication_slot',
    ]) {
      assert.ok(isDeniedFunction(name), name);
    }
    for (const name of [
      'count',
      'now',
      'pg_sleep',
      'pg_backend_pid',
      'lower',
      'jsonb_build_object',
      'pg_size_pretty',
      'table_to_xml',
      'generate_series',
    ]) {
      assert.ok(!isDeniedFunction(name), name);
    }
  });
});
