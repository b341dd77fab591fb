/**
 * com.datadoghq.postgresql.select end to end: real control plane, runner and worker processes,
 * the Token Auth credential file only in the runner's config dir, the real PostgreSQL on
 * 127.0.0.1:5432. The test's own schema `par_test_<random>` is made and dropped here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startSystem, type System } from '../helpers/system.js';

describe('postgresql actions end to end', () => {
  const schema = `par_test_${randomBytes(5).toString('hex')}`;
  let system: System;
  let admin: pg.Client;
  let connectionId: string;

  before(async () => {
    admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.services (id int PRIMARY KEY, name text NOT NULL, tier text NOT NULL)`);
    await admin.query(`INSERT INTO ${schema}.services VALUES (1, 'checkout', 'gold'), (2, 'search', 'silver'), (3, 'billing', 'gold')`);
    system = await startSystem({ allowlist: 'com.datadoghq.postgresql.select' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    const tokens = { host: '127.0.0.1', port: '5432', user: 'postgres', password: '', database: 'test', sslmode: 'disable' };
    await writeFile(
      join(system.configDir, 'credentials', 'pg.json'),
      JSON.stringify({
        auth_type: 'Token Auth',
        credentials: Object.entries(tokens).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
      }),
    );
    connectionId = await system.createConnection({ integration: 'postgresql', name: 'pg', credentialPath: 'credentials/pg.json' });
  });

  after(async () => {
    await system.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  test('a parameterised select through the control plane returns the rows', async () => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.postgresql.select',
      connectionId,
      inputs: { query: `SELECT id, name FROM ${schema}.services WHERE tier = $1 ORDER BY id`, parameters: ['gold'] },
      timeoutMs: 10_000,
    });
    const done = await system.api.waitForTask(task.id, 20_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual(done.outcome?.output, {
      rows: [
        { id: 1, name: 'checkout' },
        { id: 3, name: 'billing' },
      ],
      rowCount: 2,
      fields: [
        { name: 'id', dataTypeID: 23 },
        { name: 'name', dataTypeID: 25 },
      ],
      truncated: false,
    });
  });

  test('a write attempt fails with the read-only code and changes nothing', async () => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.postgresql.select',
      connectionId,
      inputs: { query: `UPDATE ${schema}.services SET tier = $1`, parameters: ['bronze'] },
      timeoutMs: 10_000,
    });
    const done = await system.api.waitForTask(task.id, 20_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_POSTGRES_READ_ONLY');
    assert.equal(done.outcome.error.retryable, false);
    const tiers = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.services WHERE tier = 'bronze'`);
    assert.equal(tiers.rows[0]?.n, 0);
  });
});
