/**
 * com.datadoghq.mongodb end to end: real control plane, runner and worker processes, the vendor's
 * documented standard Token Auth file (test/fixtures/vendor-credentials/mongodb_standard_token.json,
 * its placeholders filled in, plus `tls: false`) only in the runner's config dir, and the FAKE
 * MongoDB server (test/fakes/mongodb-server.ts) on loopback: real wire protocol, real BSON and a
 * real SCRAM-SHA-256 login, spoken by the official driver inside the worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeMongoServer, type FakeMongoServer } from '../fakes/mongodb-server.js';

const USER = 'ops-runner';
const PASSWORD = 'e2e-Mongo-pw-3391';
const FIXTURE = new URL('../fixtures/vendor-credentials/mongodb_standard_token.json', import.meta.url);

describe('mongodb actions end to end (against the fake MongoDB server)', () => {
  let fake: FakeMongoServer;
  let system: System;
  let connectionId: string;
  let wrongConnectionId: string;

  const submit = async (action: string, inputs: Record<string, unknown>, connection = connectionId) => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.mongodb.${action}`,
      connectionId: connection,
      inputs,
      timeoutMs: 20_000,
    });
    return system.api.waitForTask(task.id, 40_000);
  };

  before(async () => {
    fake = await startFakeMongoServer({ user: { username: USER, password: PASSWORD, authSource: 'admin' } });
    system = await startSystem({ allowlist: 'com.datadoghq.mongodb.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    const values: Record<string, string> = {
      USERNAME: USER,
      PASSWORD,
      HOST: '127.0.0.1',
      PORT: String(fake.port),
      DATABASE: 'inventory',
      AUTH_SOURCE: 'admin',
      AUTH_MECHANISM: 'SCRAM-SHA-256',
    };
    const file = JSON.parse(await readFile(FIXTURE, 'utf8')) as { credentials: Array<{ tokenName: string; tokenValue: string }> };
    for (const t of file.credentials) t.tokenValue = values[t.tokenValue] ?? assert.fail(`unexpected placeholder ${t.tokenValue}`);
    file.credentials.push({ tokenName: 'tls', tokenValue: 'false' });
    await writeFile(join(system.configDir, 'credentials', 'mongo.json'), JSON.stringify(file));
    const wrong = structuredClone(file);
    wrong.credentials.find((t) => t.tokenName === 'password')!.tokenValue = 'wrong-e2e-pw-8812';
    await writeFile(join(system.configDir, 'credentials', 'mongo-wrong.json'), JSON.stringify(wrong));
    connectionId = await system.createConnection({ integration: 'mongodb', name: 'mongo', credentialPath: 'credentials/mongo.json' });
    wrongConnectionId = await system.createConnection({
      integration: 'mongodb',
      name: 'mongo-wrong',
      credentialPath: 'credentials/mongo-wrong.json',
    });
  });

  after(async () => {
    await system.stop();
    await fake.close();
  });

  test('testConnection logs in and reports the server version', async () => {
    const done = await submit('testConnection', {});
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual(done.outcome?.output, {
      configurationValid: true,
      connectionValid: true,
      serverInfo: { version: '7.0.0-fake' },
      errors: [],
    });
    assert.ok(fake.auth.succeeded >= 1);
  });

  test('insertMany, find, updateMany, countDocuments, findAndModify, createIndex through the control plane', async () => {
    const inserted = await submit('insertMany', {
      collection: 'hosts',
      documents: [
        { name: 'web-1', tier: 'gold', cpu: 4 },
        { name: 'web-2', tier: 'silver', cpu: 2 },
        { name: 'db-1', tier: 'gold', cpu: 16 },
      ],
    });
    assert.equal(inserted.state, 'succeeded', JSON.stringify(inserted.outcome));
    assert.equal((inserted.outcome?.output as { insertedIds: string[] }).insertedIds.length, 3);
    assert.deepEqual(
      fake.collection('inventory', 'hosts').map((d) => d['name']),
      ['web-1', 'web-2', 'db-1'],
    );

    const found = await submit('find', { collection: 'hosts', filter: { tier: 'gold', cpu: { $gte: 8 } } });
    assert.equal(found.state, 'succeeded', JSON.stringify(found.outcome));
    const results = (found.outcome?.output as { results: Array<Record<string, unknown>> }).results;
    assert.deepEqual(
      results.map((r) => r['name']),
      ['db-1'],
    );
    assert.match(String(results[0]!['_id']), /^[0-9a-f]{24}$/);

    const updated = await submit('updateMany', { collection: 'hosts', filter: { tier: 'gold' }, update: { $set: { patched: true } } });
    assert.deepEqual(updated.outcome?.output, { matchedCount: 2, modifiedCount: 2 });
    const counted = await submit('countDocuments', { collection: 'hosts', filter: { patched: true } });
    assert.deepEqual(counted.outcome?.output, { count: 2 });
    const modified = await submit('findAndModify', {
      collection: 'hosts',
      filter: { name: 'web-2' },
      update: { $inc: { cpu: 2 } },
      options: { returnDocument: 'after' },
    });
    assert.equal((modified.outcome?.output as { modifiedDocument: { cpu: number } }).modifiedDocument.cpu, 4);
    const index = await submit('createIndex', { collection: 'hosts', keys: { name: 1 } });
    assert.deepEqual(index.outcome?.output, { indexName: 'name_1' });
  });

  test("documents holding the connection's non-secret words (admin, false, SCRAM-SHA-256) come back unredacted", async () => {
    const doc = { role: 'admin', flag: 'false', mech: 'SCRAM-SHA-256', db: 'inventory' };
    const inserted = await submit('insertOne', { collection: 'words', document: doc });
    assert.equal(inserted.state, 'succeeded', JSON.stringify(inserted.outcome));
    const found = await submit('find', { collection: 'words', filter: { role: 'admin' } });
    const results = (found.outcome?.output as { results: Array<Record<string, unknown>> }).results;
    assert.deepEqual(
      results.map(({ _id, ...rest }) => rest),
      [doc],
    );
  });

  test('an operation the server never answers ends at the task deadline, and the worker carries on', async () => {
    fake.stallNext();
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.mongodb.countDocuments',
      connectionId,
      inputs: { collection: 'hosts' },
      timeoutMs: 2_000,
    });
    const done = await system.api.waitForTask(task.id, 40_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.kind, 'timedOut', JSON.stringify(done.outcome));
    const again = await submit('countDocuments', { collection: 'hosts' });
    assert.deepEqual(again.outcome?.output, { count: 3 });
  });

  test('a refused filter operator fails as invalid input and never reaches the server', async () => {
    const before = fake.commands.length;
    const done = await submit('find', { collection: 'hosts', filter: { $where: 'sleep(10000)' } });
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.match(done.outcome.error.message, /\$where/);
    assert.equal(fake.commands.slice(before).filter((c) => c.name === 'find').length, 0);
  });

  test('a wrong password fails with PAR_ERR_MONGODB_AUTH once, and the password is nowhere in the outcome', async () => {
    const done = await submit('countDocuments', { collection: 'hosts' }, wrongConnectionId);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_MONGODB_AUTH');
    assert.equal(done.outcome.error.retryable, false);
    assert.doesNotMatch(JSON.stringify(done.outcome), /wrong-e2e-pw-8812|e2e-Mongo-pw-3391/);
  });
});
