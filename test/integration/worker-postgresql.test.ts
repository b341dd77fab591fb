/**
 * com.datadoghq.postgresql.select through a real worker (BullMQ on the real Redis, signed tasks,
 * the credential file in the config dir) against the real PostgreSQL on 127.0.0.1:5432.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { waitUntil } from '../helpers/wait.js';
import { newTaskId, startWorkerHarness, type WorkerHarness } from './worker-harness.js';

const SELECT = 'com.datadoghq.postgresql.select';

function tokenAuth(tokens: Record<string, string>): string {
  return JSON.stringify({
    auth_type: 'Token Auth',
    credentials: Object.entries(tokens).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
  });
}

describe('worker: com.datadoghq.postgresql.select', () => {
  const schema = `par_test_${randomBytes(5).toString('hex')}`;
  let h: WorkerHarness;
  let admin: pg.Client;
  const connection = { id: 'conn-pg', integration: 'postgresql', credentialPath: 'credentials/pg.json' };

  before(async () => {
    admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.hosts (id int PRIMARY KEY, name text)`);
    await admin.query(`INSERT INTO ${schema}.hosts VALUES (1, 'web-1'), (2, 'web-2'), (3, 'db-1')`);
    h = await startWorkerHarness('worker-pg', { identityAllowlist: ['com.datadoghq.postgresql.*'], config: { postgresMaxRows: 2 } });
    await mkdir(join(h.configDir, 'credentials'), { recursive: true });
    await writeFile(
      join(h.configDir, 'credentials/pg.json'),
      tokenAuth({ host: '127.0.0.1', port: '5432', user: 'postgres', password: '', database: 'test', sslmode: 'disable' }),
    );
    await writeFile(
      join(h.configDir, 'credentials/pg-incomplete.json'),
      tokenAuth({ host: '127.0.0.1', password: 'pw-secret-4411', database: 'test' }),
    );
  });
  after(async () => {
    await h.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('runs a parameterised select with the connection credentials; PAR_POSTGRES_MAX_ROWS caps the rows', async () => {
    const one = newTaskId();
    await h.submit({
      sub: one,
      action: SELECT,
      connection,
      inputs: { query: `SELECT id, name FROM ${schema}.hosts WHERE name LIKE $1 ORDER BY id`, parameters: ['web-%'] },
    });
    const outcome = await h.waitResult(one);
    assert.equal(outcome.kind, 'succeeded', JSON.stringify(outcome.error));
    assert.deepEqual(outcome.output, {
      rows: [
        { id: 1, name: 'web-1' },
        { id: 2, name: 'web-2' },
      ],
      rowCount: 2,
      fields: [
        { name: 'id', dataTypeID: 23 },
        { name: 'name', dataTypeID: 25 },
      ],
      truncated: false,
    });

    const capped = newTaskId();
    await h.submit({
      sub: capped,
      action: SELECT,
      connection,
      inputs: { query: `SELECT id FROM ${schema}.hosts ORDER BY id`, maxRows: 100 },
    });
    const out = (await h.waitResult(capped)).output as { rows: unknown[]; truncated: boolean };
    assert.deepEqual(out.rows, [{ id: 1 }, { id: 2 }]);
    assert.equal(out.truncated, true);
  });

  it('a write fails at once with the read-only code and the table is unchanged', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: SELECT,
      connection,
      inputs: { query: `WITH d AS (DELETE FROM ${schema}.hosts RETURNING 1) SELECT count(*) FROM d` },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.error?.code, 'PAR_ERR_POSTGRES_READ_ONLY');
    assert.equal(outcome.attempts, 1);
    assert.equal((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.hosts`)).rows[0]?.n, 3);
  });

  it('invalid inputs fail with PAR_ERR_INPUT_INVALID', async () => {
    const taskId = newTaskId();
    await h.submit({ sub: taskId, action: SELECT, connection, inputs: { query: 'SELECT $1', parameters: [{ nested: true }] } });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.match(outcome.error.message, /parameters/);
  });

  it('a missing token fails without retry, naming the token and no value', async () => {
    const taskId = newTaskId();
    await h.submit({
      sub: taskId,
      action: SELECT,
      connection: { ...connection, credentialPath: 'credentials/pg-incomplete.json' },
      inputs: { query: 'SELECT 1' },
    });
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.error?.code, 'PAR_ERR_POSTGRES_CREDENTIALS_INVALID');
    assert.equal(outcome.attempts, 1);
    assert.match(outcome.error.message, /"user"/);
    assert.doesNotMatch(JSON.stringify(outcome), /pw-secret/);
  });

  it('a 300 ms task timeout stops `select pg_sleep(30)` and the backend no longer runs it', async () => {
    const marker = `par_sleep_${randomBytes(4).toString('hex')}`;
    const taskId = newTaskId();
    const running = async () =>
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`,
          [`%${marker}%`],
        )
      ).rows[0]?.n as number;
    await h.submit({ sub: taskId, action: SELECT, connection, timeoutMs: 300, inputs: { query: `SELECT pg_sleep(30) AS ${marker}` } });
    // Seen running on the server before the deadline, so "stopped" below means something.
    assert.equal(await waitUntil(async () => ((await running()) > 0 ? true : undefined), 2_000, 'pg_sleep runs', 10), true);
    const outcome = await h.waitResult(taskId);
    assert.equal(outcome.kind, 'timedOut');
    assert.equal(outcome.error?.code, 'PAR_ERR_TASK_TIMEOUT');
    assert.ok(outcome.durationMs >= 290 && outcome.durationMs < 2_000, `duration ${outcome.durationMs}`);
    assert.equal(await waitUntil(async () => ((await running()) === 0 ? true : undefined), 2_000, 'the backend stops pg_sleep', 50), true);
  });
});
