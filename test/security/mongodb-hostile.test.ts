/**
 * Hostile corpus, family "MongoDB tasks cannot run code on the server or reach past their
 * connection": com.datadoghq.mongodb through the real control plane, runner and worker processes
 * against the FAKE MongoDB server (test/fakes/mongodb-server.ts: real wire protocol, BSON and
 * SCRAM-SHA-256 on loopback). Each case asserts its error code and that the server received no
 * data command and its documents are unchanged; at the end no secret (the credential file's
 * password) is in any result, log or Redis key, and every process is healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeMongoServer, type FakeMongoServer } from '../fakes/mongodb-server.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const DATA_COMMANDS = new Set(['find', 'getMore', 'insert', 'update', 'delete', 'aggregate', 'count', 'createIndexes', 'findAndModify']);

describe("security: MongoDB tasks stay within the vendor's operators and their connection", () => {
  const password = `mongo-secret-${randomBytes(12).toString('hex')}`;
  const secrets = secretForms(password);
  let fake: FakeMongoServer;
  let system: System;
  let connectionId: string;
  let awsConnectionId: string;
  let injectedHostConnectionId: string;
  const results: unknown[] = [];

  const tokenFile = (values: Record<string, string>) =>
    JSON.stringify({
      auth_type: 'Token Auth',
      credentials: Object.entries(values).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
    });

  const snapshot = () => JSON.stringify(fake.collection('sec', 'items'));

  /** Runs a task that must fail with `code` without any data command reaching the server. */
  async function refused(action: string, inputs: Record<string, unknown>, code: string, connection = connectionId): Promise<string> {
    const before = fake.commands.length;
    const data = snapshot();
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: `com.datadoghq.mongodb.${action}`,
      connectionId: connection,
      inputs,
      timeoutMs: 20_000,
    });
    const done = await system.api.waitForTask(task.id, 40_000);
    results.push(done);
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, code, JSON.stringify(done.outcome?.error));
    const sent = fake.commands.slice(before).filter((c) => DATA_COMMANDS.has(c.name));
    assert.deepEqual(sent, [], 'the server received a data command');
    assert.equal(snapshot(), data, 'the documents changed');
    return done.outcome.error.message;
  }

  before(async () => {
    fake = await startFakeMongoServer({ user: { username: 'runner', password } });
    fake.collection('sec', 'items').push({ _id: 'a', name: 'alpha', qty: 1 }, { _id: 'b', name: 'beta', qty: 2 });
    system = await startSystem({ allowlist: 'com.datadoghq.mongodb.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    const good = {
      username: 'runner',
      password,
      host: '127.0.0.1',
      port: String(fake.port),
      database: 'sec',
      authSource: 'admin',
      tls: 'false',
    };
    await writeFile(join(system.configDir, 'credentials', 'mongo.json'), tokenFile(good));
    await writeFile(join(system.configDir, 'credentials', 'mongo-aws.json'), tokenFile({ ...good, authMechanism: 'MONGODB-AWS' }));
    await writeFile(
      join(system.configDir, 'credentials', 'mongo-host.json'),
      tokenFile({ ...good, host: `127.0.0.1:${fake.port},169.254.169.254/?authMechanism=MONGODB-AWS&x=` }),
    );
    connectionId = await system.createConnection({ integration: 'mongodb', name: 'mongo', credentialPath: 'credentials/mongo.json' });
    awsConnectionId = await system.createConnection({
      integration: 'mongodb',
      name: 'mongo-aws',
      credentialPath: 'credentials/mongo-aws.json',
    });
    injectedHostConnectionId = await system.createConnection({
      integration: 'mongodb',
      name: 'mongo-host',
      credentialPath: 'credentials/mongo-host.json',
    });
    // Warm up: the worker has logged in once, so later cases see only what they cause.
    const warm = await system.api.waitForTask(
      (
        await system.api.submitTask({
          runner: system.runnerName,
          action: 'com.datadoghq.mongodb.countDocuments',
          connectionId,
          inputs: { collection: 'items' },
          timeoutMs: 20_000,
        })
      ).id,
      40_000,
    );
    assert.deepEqual(warm.outcome?.output, { count: 2 });
  });

  after(async () => {
    try {
      for (const r of results) assertNoSecretIn(r, secrets, 'a task result');
      await assertNothingLeaked(system, secrets);
    } finally {
      await system.stop();
      await fake.close();
    }
  });

  test('1. $where (server-side JavaScript) in a find filter', async () => {
    assert.match(
      await refused('find', { collection: 'items', filter: { $where: 'sleep(100000) || true' } }, 'PAR_ERR_INPUT_INVALID'),
      /\$where/,
    );
  });

  test('2. $function inside a field condition', async () => {
    await refused(
      'find',
      { collection: 'items', filter: { name: { $function: { body: 'function() { return true }', args: [], lang: 'js' } } } },
      'PAR_ERR_INPUT_INVALID',
    );
  });

  test('3. $expr in countDocuments', async () => {
    await refused('countDocuments', { collection: 'items', filter: { $expr: { $gt: ['$qty', 0] } } }, 'PAR_ERR_INPUT_INVALID');
  });

  test('4. $where hidden inside $or in an updateMany filter', async () => {
    await refused(
      'updateMany',
      { collection: 'items', filter: { $or: [{ name: 'alpha' }, { $where: 'true' }] }, update: { $set: { owned: true } } },
      'PAR_ERR_INPUT_INVALID',
    );
  });

  test('5. $regex (a catastrophic pattern) in a findAndModify filter', async () => {
    await refused(
      'findAndModify',
      { collection: 'items', filter: { name: { $regex: '^(a+)+$' } }, update: { $set: { qty: 0 } } },
      'PAR_ERR_INPUT_INVALID',
    );
  });

  test('6. the system.users collection', async () => {
    await refused('find', { collection: 'system.users' }, 'PAR_ERR_INPUT_INVALID');
  });

  test('7. the $cmd pseudo-collection', async () => {
    await refused('insertOne', { collection: '$cmd', document: { dropDatabase: 1 } }, 'PAR_ERR_INPUT_INVALID');
  });

  test('8. $where in a createIndex partialFilterExpression', async () => {
    await refused(
      'createIndex',
      { collection: 'items', keys: { name: 1 }, options: { partialFilterExpression: { $where: 'true' } } },
      'PAR_ERR_INPUT_INVALID',
    );
  });

  test('9. an unacknowledged write concern smuggled into insertMany options', async () => {
    await refused(
      'insertMany',
      { collection: 'items', documents: [{ x: 1 }], options: { writeConcern: { w: 0 } } },
      'PAR_ERR_INPUT_INVALID',
    );
  });

  test('10. findAndModify options asking to remove the document', async () => {
    await refused(
      'findAndModify',
      { collection: 'items', filter: { name: 'alpha' }, update: { $set: { qty: 1 } }, options: { remove: true } },
      'PAR_ERR_INPUT_INVALID',
    );
  });

  test('11. updateOne with a replacement instead of operators (would overwrite the document)', async () => {
    await refused(
      'updateOne',
      { collection: 'items', filter: { name: 'alpha' }, update: { name: 'pwned' } },
      'PAR_ERR_MONGODB_COMMAND_FAILED',
    );
  });

  test('12. replaceOne with update operators in the replacement', async () => {
    await refused(
      'replaceOne',
      { collection: 'items', filter: { name: 'alpha' }, replacement: { $set: { name: 'pwned' } } },
      'PAR_ERR_MONGODB_COMMAND_FAILED',
    );
  });

  test("13. a connection asking for MONGODB-AWS (the worker's own cloud identity) is refused before any socket", async () => {
    const message = await refused('find', { collection: 'items' }, 'PAR_ERR_MONGODB_CREDENTIALS_INVALID', awsConnectionId);
    assert.match(message, /authMechanism/);
  });

  test('14. a host token carrying extra hosts and URI options is refused before any socket', async () => {
    const message = await refused('find', { collection: 'items' }, 'PAR_ERR_MONGODB_CREDENTIALS_INVALID', injectedHostConnectionId);
    assert.match(message, /"host"/);
    assert.doesNotMatch(message, /169\.254/);
  });

  test('15. after all that, a legitimate task still works', async () => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.mongodb.find',
      connectionId,
      inputs: { collection: 'items', filter: { qty: { $gte: 2 } } },
      timeoutMs: 20_000,
    });
    const done = await system.api.waitForTask(task.id, 40_000);
    results.push(done);
    assert.deepEqual(done.outcome?.output, { results: [{ _id: 'b', name: 'beta', qty: 2 }] });
  });
});
