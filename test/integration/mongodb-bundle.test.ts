/**
 * The com.datadoghq.mongodb bundle against the FAKE MongoDB server (test/fakes/mongodb-server.ts:
 * real wire protocol, real BSON, real SCRAM-SHA-256, on loopback). The official driver does the
 * talking; these tests check our inputs, outputs, client cache, error classes and cancellation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import type { Credentials } from '../../src/contracts/credentials.js';
import { createMongodbBundle, type MongodbBundle } from '../../src/actions/mongodb/bundle.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startFakeMongoServer, type FakeMongoServer } from '../fakes/mongodb-server.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const USER = 'app-user';
const PASSWORD = 'pw-Secret 7781/?&';

function tokens(values: Record<string, string>): Credentials {
  return { authType: 'Token Auth', tokens: values };
}

describe('com.datadoghq.mongodb against the fake MongoDB server', () => {
  let fake: FakeMongoServer;
  let bundle: MongodbBundle;
  let creds: Credentials;

  const act = (name: string): RegisteredAction => {
    const found = bundle.actions.find((a) => a.fqn === `com.datadoghq.mongodb.${name}`);
    assert.ok(found, name);
    return found;
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function run(name: string, inputs: unknown, options: { credentials?: Credentials; signal?: AbortSignal } = {}): Promise<any> {
    const a = act(name);
    const ctx: ActionContext = {
      signal: options.signal ?? new AbortController().signal,
      credentials: 'credentials' in options ? options.credentials : creds,
      configDir: '/nonexistent',
      logger,
      limits: { httpMaxResponseBytes: 1_000_000 },
    };
    return a.run(a.inputSchema.parse(inputs), ctx);
  }

  async function failure(
    name: string,
    inputs: unknown,
    options: { credentials?: Credentials; signal?: AbortSignal } = {},
  ): Promise<ParError> {
    try {
      await run(name, inputs, options);
    } catch (error) {
      assert.ok(error instanceof ParError, String(error));
      return error;
    }
    assert.fail(`${name} did not fail`);
  }

  before(async () => {
    fake = await startFakeMongoServer({ user: { username: USER, password: PASSWORD } });
    bundle = createMongodbBundle({ clients: { serverSelectionTimeoutMs: 2_000, connectTimeoutMs: 2_000 } });
    creds = tokens({
      username: USER,
      password: PASSWORD,
      host: '127.0.0.1',
      port: String(fake.port),
      database: 'shop',
      authSource: 'admin',
      authMechanism: 'SCRAM-SHA-256',
      tls: 'false',
    });
  });
  after(async () => {
    await bundle.close();
    await fake.close();
  });

  it('registers the vendor FQNs', () => {
    assert.deepEqual(
      bundle.actions.map((a) => a.fqn).sort(),
      [
        'countDocuments',
        'createIndex',
        'find',
        'findAndModify',
        'insertMany',
        'insertOne',
        'replaceOne',
        'testConnection',
        'updateMany',
        'updateOne',
      ].map((n) => `com.datadoghq.mongodb.${n}`),
    );
  });

  it('insertOne and insertMany return the ObjectIds as hex, and the documents are stored', async () => {
    const one = await run('insertOne', { collection: 'orders', document: { sku: 'a-1', qty: 2, shipping: { city: 'Lyon' } } });
    assert.match(one.insertedId, /^[0-9a-f]{24}$/);
    const many = await run('insertMany', {
      collection: 'orders',
      documents: [
        { sku: 'b-2', qty: 5, shipping: { city: 'Oslo' } },
        { sku: 'c-3', qty: 9, shipping: { city: 'Lyon' } },
      ],
    });
    assert.equal(many.insertedIds.length, 2);
    for (const id of many.insertedIds) assert.match(id, /^[0-9a-f]{24}$/);
    const stored = fake.collection('shop', 'orders');
    assert.deepEqual(
      stored.map((d) => d['sku']),
      ['a-1', 'b-2', 'c-3'],
    );
    assert.equal(stored[0]!['_id'].toHexString(), one.insertedId);
    // It logged in with SCRAM-SHA-256 once, on one pooled connection, against authSource admin.
    assert.ok(fake.auth.succeeded >= 1);
    assert.equal(fake.auth.failed, 0);
  });

  it('find filters with operators and nested fields; results are plain JSON', async () => {
    const out = await run('find', { collection: 'orders', filter: { 'shipping.city': 'Lyon', qty: { $gt: 1, $lt: 10 } } });
    assert.deepEqual(
      out.results.map((d: { sku: string }) => d.sku),
      ['a-1', 'c-3'],
    );
    assert.equal(typeof out.results[0]._id, 'string');
    assert.deepEqual(Object.keys(out.results[0]).sort(), ['_id', 'qty', 'shipping', 'sku']);
    const none = await run('find', { collection: 'orders', filter: { sku: { $in: ['zzz'] } } });
    assert.deepEqual(none.results, []);
    const all = await run('find', { collection: 'orders' });
    assert.equal(all.results.length, 3);
  });

  it('find reads past the first batch (getMore) and closes its cursor', async () => {
    await run('insertMany', { collection: 'bulk', documents: Array.from({ length: 250 }, (_, i) => ({ i })) });
    const out = await run('find', { collection: 'bulk', filter: { i: { $gte: 0 } } });
    assert.equal(out.results.length, 250);
    assert.ok(fake.commands.some((c) => c.name === 'getMore'));
  });

  it("find stops at the output cap (here the worker's 1 MB response cap) with the documents that fit", async () => {
    const pad = 'x'.repeat(100_000);
    await run('insertMany', { collection: 'big', documents: Array.from({ length: 15 }, (_, i) => ({ i, pad })) });
    const out = await run('find', { collection: 'big' });
    assert.equal(out.results.length, 9);
    assert.deepEqual(
      out.results.map((d: { i: number }) => d.i),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  it('countDocuments counts with a filter', async () => {
    assert.deepEqual(await run('countDocuments', { collection: 'orders', filter: { 'shipping.city': 'Lyon' } }), { count: 2 });
    assert.deepEqual(await run('countDocuments', { collection: 'orders', filter: { $or: [{ qty: 5 }, { qty: 9 }] } }), { count: 2 });
    assert.deepEqual(await run('countDocuments', { collection: 'empty' }), { count: 0 });
  });

  it('updateOne, updateMany and replaceOne report matched and modified counts', async () => {
    assert.deepEqual(
      await run('updateOne', { collection: 'orders', filter: { sku: 'a-1' }, update: { $inc: { qty: 3 }, $set: { status: 'paid' } } }),
      { matchedCount: 1, modifiedCount: 1 },
    );
    assert.deepEqual(
      await run('updateMany', { collection: 'orders', filter: { 'shipping.city': 'Lyon' }, update: { $set: { region: 'eu' } } }),
      { matchedCount: 2, modifiedCount: 2 },
    );
    assert.deepEqual(await run('updateMany', { collection: 'orders', filter: { sku: 'nope' }, update: { $set: { region: 'eu' } } }), {
      matchedCount: 0,
      modifiedCount: 0,
    });
    const a1 = fake.collection('shop', 'orders').find((d) => d['sku'] === 'a-1')!;
    assert.equal(a1['qty'], 5);
    assert.equal(a1['status'], 'paid');
    assert.deepEqual(await run('replaceOne', { collection: 'orders', filter: { sku: 'b-2' }, replacement: { sku: 'b-2', qty: 0 } }), {
      matchedCount: 1,
      modifiedCount: 1,
    });
    const up = await run('replaceOne', { collection: 'orders', filter: { sku: 'd-4' }, replacement: { sku: 'd-4', qty: 1 }, upsert: true });
    assert.equal(up.matchedCount, 0);
    assert.match(up.upsertedId, /^[0-9a-f]{24}$/);
    assert.deepEqual(await run('countDocuments', { collection: 'orders' }), { count: 4 });
  });

  it('createIndex returns the index name the driver derives, or the given one', async () => {
    assert.deepEqual(await run('createIndex', { collection: 'orders', keys: { sku: 1, qty: -1 } }), { indexName: 'sku_1_qty_-1' });
    assert.deepEqual(
      await run('createIndex', { collection: 'orders', keys: { region: 1 }, options: { Name: 'by_region', unique: false } }),
      { indexName: 'by_region' },
    );
    assert.deepEqual(
      fake.indexes('shop', 'orders').map((i) => i['name']),
      ['_id_', 'sku_1_qty_-1', 'by_region'],
    );
  });

  it('findAndModify returns the document before (default) or after the update', async () => {
    const before = await run('findAndModify', { collection: 'orders', filter: { sku: 'c-3' }, update: { $set: { qty: 10 } } });
    assert.equal(before.modifiedDocument.qty, 9);
    const afterDoc = await run('findAndModify', {
      collection: 'orders',
      filter: { sku: 'c-3' },
      update: { $inc: { qty: 1 } },
      options: { returnDocument: 'after' },
    });
    assert.equal(afterDoc.modifiedDocument.qty, 11);
    const goStyle = await run('findAndModify', {
      collection: 'orders',
      filter: { sku: 'c-3' },
      update: { $unset: { region: '' } },
      options: { ReturnDocument: 1 },
    });
    assert.equal(goStyle.modifiedDocument.region, undefined);
    const missing = await failure('findAndModify', { collection: 'orders', filter: { sku: 'zzz' }, update: { $set: { qty: 1 } } });
    assert.equal(missing.code, 'PAR_ERR_MONGODB_NO_DOCUMENT');
  });

  it('server rejections are classified and not retried: duplicate key, update without operators', async () => {
    const id = (await run('insertOne', { collection: 'dups', document: { _id: 'fixed', v: 1 } })).insertedId;
    assert.equal(id, 'fixed');
    const dup = await failure('insertOne', { collection: 'dups', document: { _id: 'fixed', v: 2 } });
    assert.equal(dup.code, 'PAR_ERR_MONGODB_COMMAND_FAILED');
    assert.equal(dup.retryable, false);
    assert.match(dup.message, /11000/);
    const noOps = await failure('updateOne', { collection: 'dups', filter: { v: 1 }, update: { v: 3 } });
    assert.equal(noOps.code, 'PAR_ERR_MONGODB_COMMAND_FAILED');
    const immutable = await failure('updateOne', { collection: 'dups', filter: { v: 1 }, update: { $set: { _id: 'other' } } });
    assert.equal(immutable.code, 'PAR_ERR_MONGODB_COMMAND_FAILED');
    assert.match(immutable.message, /ImmutableField/);
  });

  it('a transient server error (ShutdownInProgress) is retryable; the next task succeeds', async () => {
    // The driver itself retries a read once: the first failure alone is absorbed.
    fake.failNext(91, 'ShutdownInProgress', 1);
    assert.deepEqual(await run('countDocuments', { collection: 'orders' }), { count: 4 });
    fake.failNext(91, 'ShutdownInProgress', 2);
    const err = await failure('countDocuments', { collection: 'orders' });
    assert.equal(err.code, 'PAR_ERR_MONGODB_TRANSIENT');
    assert.equal(err.retryable, true);
    assert.deepEqual(await run('countDocuments', { collection: 'orders' }), { count: 4 });
  });

  it('one client per credential set: tasks reuse it', async () => {
    assert.equal(bundle.clients.size, 1);
    await run('countDocuments', { collection: 'orders' });
    assert.equal(bundle.clients.size, 1);
  });

  it('a client nobody uses is closed after idleClientMs, with its connections and monitor', async () => {
    const local = await startFakeMongoServer({ user: { username: 'idle', password: 'idle-pw' } });
    const short = createMongodbBundle({ clients: { idleClientMs: 1_000, serverSelectionTimeoutMs: 2_000 } });
    try {
      const own = tokens({
        username: 'idle',
        password: 'idle-pw',
        host: '127.0.0.1',
        port: String(local.port),
        database: 'd',
        authSource: 'admin',
        tls: 'false',
      });
      const a = short.actions.find((x) => x.fqn === 'com.datadoghq.mongodb.countDocuments')!;
      const ctx: ActionContext = {
        signal: new AbortController().signal,
        credentials: own,
        configDir: '/nonexistent',
        logger,
        limits: { httpMaxResponseBytes: 1_000_000 },
      };
      assert.deepEqual(await a.run(a.inputSchema.parse({ collection: 'c' }), ctx), { count: 0 });
      assert.equal(short.clients.size, 1);
      assert.ok(local.connectionsOpen > 0);
      await waitUntil(() => (short.clients.size === 0 ? true : undefined), 15_000, 'the idle client to be closed');
      await waitUntil(() => (local.connectionsOpen === 0 ? true : undefined), 15_000, 'its connections to close');
    } finally {
      await short.close();
      await local.close();
    }
  });

  it('a wrong password fails with PAR_ERR_MONGODB_AUTH, not retried, and no secret in the message', async () => {
    const wrong = tokens({ ...(creds as { tokens: Record<string, string> }).tokens, password: 'not-the-password-99' });
    const err = await failure('find', { collection: 'orders' }, { credentials: wrong });
    assert.equal(err.code, 'PAR_ERR_MONGODB_AUTH');
    assert.equal(err.retryable, false);
    assert.doesNotMatch(err.message, /not-the-password-99|app-user|127\.0\.0\.1/);
    assert.ok(fake.auth.failed >= 1);
  });

  it('a wrong authSource fails with PAR_ERR_MONGODB_AUTH', async () => {
    const other = tokens({ ...(creds as { tokens: Record<string, string> }).tokens, authSource: 'shop' });
    assert.equal((await failure('countDocuments', { collection: 'orders' }, { credentials: other })).code, 'PAR_ERR_MONGODB_AUTH');
  });

  it("without authSource the login goes to the database, as with the vendor's connection string", async () => {
    const local = await startFakeMongoServer({ user: { username: 'db-user', password: 'db-pw-1', authSource: 'reports' } });
    try {
      const own = tokens({
        username: 'db-user',
        password: 'db-pw-1',
        host: '127.0.0.1',
        port: String(local.port),
        database: 'reports',
        tls: 'false',
      });
      assert.deepEqual(await run('countDocuments', { collection: 'r' }, { credentials: own }), { count: 0 });
      assert.equal(local.auth.succeeded, 1);
      assert.ok(local.commands.some((c) => c.name === 'saslStart' && c.db === 'reports'));
    } finally {
      await local.close();
    }
  });

  it('an unreachable server fails with the retryable PAR_ERR_MONGODB_CONNECT, naming no host', async () => {
    const closed: Server = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const gone = tokens({ ...(creds as { tokens: Record<string, string> }).tokens, port: String(port) });
    const err = await failure('countDocuments', { collection: 'orders' }, { credentials: gone });
    assert.equal(err.code, 'PAR_ERR_MONGODB_CONNECT');
    assert.equal(err.retryable, true);
    assert.doesNotMatch(err.message, /127\.0\.0\.1/);
  });

  it('tls=true (the vendor default) against a plain-text server does not hang and is not reported as an auth failure', async () => {
    const { tls: _tls, ...rest } = (creds as { tokens: Record<string, string> }).tokens;
    const err = await failure('countDocuments', { collection: 'orders' }, { credentials: tokens(rest) });
    assert.equal(err.code, 'PAR_ERR_MONGODB_TLS', err.message);
    assert.equal(err.retryable, false);
  });

  it('bad credential files fail before any connection, naming the token', async () => {
    const before = fake.connectionsOpen;
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ password: 'x', host: '127.0.0.1', port: '1', database: 'd' }, /"username"/],
      [{ username: 'u', host: '127.0.0.1', port: '1', database: 'd' }, /"password"/],
      [{ username: 'u', password: 'p', port: '1', database: 'd' }, /"host"/],
      [{ username: 'u', password: 'p', host: '127.0.0.1', database: 'd' }, /"port"/],
      [{ username: 'u', password: 'p', host: 'a,b.example', port: '1', database: 'd' }, /"host"/],
      [{ username: 'u', password: 'p', host: 'h/?authMechanism=MONGODB-AWS', port: '1', database: 'd' }, /"host"/],
      [{ username: 'u', password: 'p', host: '127.0.0.1', port: '1', database: 'd', authMechanism: 'MONGODB-AWS' }, /"authMechanism"/],
      [{ username: 'u', password: 'p', host: '127.0.0.1', port: '1', database: '' }, /"database"/],
      [{ username: 'u', password: 'p', srvHost: '', database: 'd' }, /"srvHost"/],
    ];
    for (const [values, expected] of cases) {
      const err = await failure('find', { collection: 'orders' }, { credentials: tokens(values) });
      assert.equal(err.code, 'PAR_ERR_MONGODB_CREDENTIALS_INVALID', JSON.stringify(values));
      assert.match(err.message, expected);
    }
    assert.equal((await failure('find', { collection: 'orders' }, { credentials: undefined })).code, 'PAR_ERR_MONGODB_CREDENTIALS_INVALID');
    assert.equal(fake.connectionsOpen, before);
  });

  it('testConnection reports the server version, and problems in errors without failing', async () => {
    assert.deepEqual(await run('testConnection', {}), {
      configurationValid: true,
      connectionValid: true,
      serverInfo: { version: '7.0.0-fake' },
      errors: [],
    });
    const wrong = tokens({ ...(creds as { tokens: Record<string, string> }).tokens, password: 'wrong-pw-5511' });
    const bad = await run('testConnection', {}, { credentials: wrong });
    assert.equal(bad.configurationValid, true);
    assert.equal(bad.connectionValid, false);
    assert.match(bad.errors[0], /PAR_ERR_MONGODB_AUTH|refused the login/);
    const incomplete = await run('testConnection', {}, { credentials: tokens({ username: 'u' }) });
    assert.deepEqual([incomplete.configurationValid, incomplete.connectionValid], [false, false]);
    assert.match(incomplete.errors[0], /"password"/);
  });

  it('an abort stops a stalled operation at once with PAR_ERR_TASK_CANCELLED', async () => {
    for (const [name, command, inputs] of [
      ['find', 'find', { collection: 'orders' }],
      ['insertOne', 'insert', { collection: 'orders', document: { stalled: true } }],
    ] as const) {
      const seen = fake.commands.length;
      fake.stallNext();
      const controller = new AbortController();
      const pending = failure(name, inputs, { signal: controller.signal });
      await waitUntil(
        () => (fake.commands.slice(seen).some((c) => c.name === command) ? true : undefined),
        10_000,
        `the ${name} to reach the fake`,
      );
      const started = Date.now();
      controller.abort();
      const err = await pending;
      assert.equal(err.code, 'PAR_ERR_TASK_CANCELLED');
      assert.ok(Date.now() - started < 2_000);
    }
    // The client is still usable afterwards.
    assert.equal((await run('countDocuments', { collection: 'orders', filter: { stalled: true } })).count, 0);
  });
});
