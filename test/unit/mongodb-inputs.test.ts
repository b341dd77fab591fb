/**
 * com.datadoghq.mongodb without a server: the vendor's filter rules, the input schemas, the
 * credential files (both documented forms) and what a task's output looks like for BSON values,
 * and the error classes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Binary, Decimal128, Long, ObjectId, Timestamp, UUID } from 'bson';
import { toCredentials } from '../../src/actions/credentials.js';
import { type Credentials } from '../../src/contracts/credentials.js';
import { classifyMongoError } from '../../src/actions/mongodb/classify.js';
import { mongoSettingsFromCredentials, mongoSettingsKey } from '../../src/actions/mongodb/connection-settings.js';
import { filterProblem } from '../../src/actions/mongodb/filter.js';
import {
  createIndexInputSchema,
  findAndModifyInputSchema,
  findInputSchema,
  insertManyInputSchema,
  replaceOneInputSchema,
  updateInputSchema,
} from '../../src/actions/mongodb/inputs.js';
import { toPlain } from '../../src/actions/mongodb/plain.js';
import { ParError } from '../../src/errors/par-error.js';

const tokens = (values: Record<string, string>): Credentials => ({ authType: 'Token Auth', tokens: values });
const base = { username: 'u', password: 'p w', host: 'db.internal', port: '27017', database: 'app' };

describe("mongodb filter rules (the vendor's)", () => {
  it('accepts the allowed operators, nested fields and logical arrays', () => {
    for (const f of [
      {},
      { age: { $gt: 30 } },
      { $and: [{ age: { $gt: 30 } }, { status: 'active' }] },
      { 'a.b': 1, c: { d: { $in: ['x', 2, true] } } },
      { $or: [{ a: { $exists: true } }, { b: { $type: 'string' } }], $nor: [{ c: { $ne: 1 } }] },
      { n: { $gte: 1.5, $lte: 2, $lt: 3, $eq: 2, $nin: [4] } },
    ])
      assert.equal(filterProblem(f), undefined, JSON.stringify(f));
  });

  it('refuses other operators, null, arrays as values, empty logical arrays and deep nesting', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ $where: 'sleep(1000)' }, /\$where/],
      [{ a: { $regex: '^x' } }, /\$regex/],
      [{ $expr: { $gt: ['$a', 1] } }, /\$expr/],
      [{ a: { $function: {} } }, /\$function/],
      [{ a: null }, /field 'a'/],
      [{ a: [1, 2] }, /field 'a'/],
      [{ a: { $in: [] } }, /\$in/],
      [{ a: { $in: [{ $gt: 1 }] } }, /\$in/],
      [{ a: { $gt: { $x: 1 } } }, /\$gt/],
      [{ $and: [] }, /\$and/],
      [{ $or: ['a'] }, /\$or/],
    ];
    for (const [f, expected] of cases) assert.match(filterProblem(f) ?? 'accepted', expected, JSON.stringify(f));
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 120; i++) deep = { n: deep };
    assert.match(filterProblem(deep) ?? '', /depth/);
  });

  it('a refused filter is an input error of every filtered action', () => {
    for (const schema of [findInputSchema, updateInputSchema, replaceOneInputSchema, findAndModifyInputSchema]) {
      const parsed = schema.safeParse({ collection: 'c', filter: { $where: '1' }, update: { $set: { a: 1 } }, replacement: {} });
      assert.equal(parsed.success, false);
      assert.match(JSON.stringify(parsed.error.issues), /invalid operator '\$where'/);
    }
  });
});

describe('mongodb input schemas', () => {
  it('require a usable collection name', () => {
    for (const collection of ['', '$cmd', 'system.users', 'a\0b', 7])
      assert.equal(findInputSchema.safeParse({ collection }).success, false, String(collection));
    assert.deepEqual(findInputSchema.parse({ collection: 'hosts' }), { collection: 'hosts', filter: {} });
  });

  it('insertMany takes at least one document and Go-cased options; unknown options are refused', () => {
    assert.equal(insertManyInputSchema.safeParse({ collection: 'c', documents: [] }).success, false);
    assert.equal(insertManyInputSchema.safeParse({ collection: 'c', documents: [1] }).success, false);
    assert.deepEqual(insertManyInputSchema.parse({ collection: 'c', documents: [{ a: 1 }], options: { Ordered: false } }).options, {
      ordered: false,
    });
    assert.equal(insertManyInputSchema.safeParse({ collection: 'c', documents: [{}], options: { writeConcern: { w: 0 } } }).success, false);
  });

  it('createIndex keys are int32 directions; options are checked', () => {
    assert.deepEqual(
      createIndexInputSchema.parse({ collection: 'c', keys: { a: 1, b: -1 }, options: { Unique: true, name: 'ab' } }).options,
      { unique: true, name: 'ab' },
    );
    for (const keys of [{}, { a: 'text' }, { a: 1.5 }, { a: 2 ** 31 }])
      assert.equal(createIndexInputSchema.safeParse({ collection: 'c', keys }).success, false, JSON.stringify(keys));
    assert.equal(createIndexInputSchema.safeParse({ collection: 'c', keys: { a: 1 }, options: { expireAfterSeconds: -1 } }).success, false);
  });

  it('findAndModify returnDocument takes the driver words and the Go enum (0 before, 1 after)', () => {
    const rd = (v: unknown) =>
      findAndModifyInputSchema.parse({ collection: 'c', update: { $set: { a: 1 } }, options: { returnDocument: v } }).options
        ?.returnDocument;
    assert.equal(rd('after'), 'after');
    assert.equal(rd(1), 'after');
    assert.equal(rd('Before'), 'before');
    assert.equal(rd(0), 'before');
    assert.equal(findAndModifyInputSchema.safeParse({ collection: 'c', update: {}, options: { returnDocument: 2 } }).success, false);
  });

  it('replaceOne upsert defaults to false', () => {
    assert.equal(replaceOneInputSchema.parse({ collection: 'c', replacement: { a: 1 } }).upsert, false);
  });
});

describe('mongodb credential files', () => {
  it("the vendor's two documented files parse, and map as the vendor's connection strings do", async () => {
    for (const [file, srv] of [
      ['mongodb_standard_token.json', false],
      ['mongodb_srv_token.json', true],
    ] as const) {
      const raw = JSON.parse(await readFile(new URL(`../fixtures/vendor-credentials/${file}`, import.meta.url), 'utf8')) as unknown;
      const parsed = toCredentials(raw);
      assert.ok(parsed.ok);
      const values = Object.fromEntries(
        Object.keys((parsed.value as { tokens: Record<string, string> }).tokens).map((k) => [
          k,
          k === 'port'
            ? '27017'
            : k.endsWith('Host') || k === 'host'
              ? 'db.example.com'
              : k === 'authMechanism'
                ? 'SCRAM-SHA-256'
                : `v-${k}`,
        ]),
      );
      const settings = mongoSettingsFromCredentials(tokens(values));
      assert.equal(settings.srv, srv);
      assert.equal(settings.uri, srv ? 'mongodb+srv://db.example.com/v-database' : 'mongodb://db.example.com:27017/v-database');
      assert.equal(settings.tls, true); // the vendor's default
    }
  });

  it('standard form: hosts and ports are checked so no token can add hosts or options', () => {
    assert.equal(mongoSettingsFromCredentials(tokens({ ...base, host: '::1' })).uri, 'mongodb://[::1]:27017/app');
    assert.equal(mongoSettingsFromCredentials(tokens({ ...base, host: '10.0.0.7', tls: 'FALSE' })).tls, false);
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ ...base, host: 'a:1,b' }, /"host"/],
      [{ ...base, host: 'h/x?authMechanism=MONGODB-AWS' }, /"host"/],
      [{ ...base, host: 'user@h' }, /"host"/],
      [{ ...base, port: '0' }, /"port"/],
      [{ ...base, port: '27017?x=1' }, /"port"/],
      [{ ...base, tls: 'yes' }, /"tls"/],
      [{ ...base, database: 'a/b' }, /"database"/],
      [{ ...base, authMechanism: 'MONGODB-AWS' }, /"authMechanism"/],
      [{ ...base, authMechanism: 'MONGODB-OIDC' }, /"authMechanism"/],
      [{ ...base, authMechanism: 'GSSAPI' }, /"authMechanism"/],
      [{ ...base, password: '' }, /"password"/],
      [{ ...base, srvHost: '10.0.0.1' }, /"srvHost"/],
      [{ ...base, srvHost: 'a.example,b.example' }, /"srvHost"/],
    ];
    for (const [values, expected] of bad) {
      assert.throws(
        () => mongoSettingsFromCredentials(tokens(values)),
        (e: unknown) =>
          e instanceof ParError &&
          e.code === 'PAR_ERR_MONGODB_CREDENTIALS_INVALID' &&
          expected.test(e.message) &&
          !e.message.includes('p w'),
        JSON.stringify(values),
      );
    }
    assert.throws(() => mongoSettingsFromCredentials({ authType: 'Basic Auth', username: 'u', password: 'p' }), /Token Auth/);
  });

  it('authMechanism is matched case-insensitively; the cache key hides the values', () => {
    const a = mongoSettingsFromCredentials(tokens({ ...base, authMechanism: 'scram-sha-256' }));
    assert.equal(a.authMechanism, 'SCRAM-SHA-256');
    const key = mongoSettingsKey(a);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.notEqual(
      key,
      mongoSettingsKey(mongoSettingsFromCredentials(tokens({ ...base, password: 'other', authMechanism: 'SCRAM-SHA-256' }))),
    );
  });
});

describe('mongodb outputs and errors', () => {
  it('BSON values become the JSON the vendor gives', () => {
    const id = new ObjectId('65a1b2c3d4e5f60718293a4b');
    assert.deepEqual(
      toPlain({
        _id: id,
        at: new Date('2026-01-02T03:04:05.000Z'),
        big: Long.fromString('9007199254740993'),
        small: Long.fromNumber(5),
        dec: Decimal128.fromString('1.10'),
        bin: new Binary(Buffer.from('hi')),
        uuid: new UUID('0f8fad5b-d9cb-469f-a165-70867728950e'),
        ts: new Timestamp({ t: 5, i: 1 }),
        nested: [{ id }],
        nothing: null,
      }),
      {
        _id: '65a1b2c3d4e5f60718293a4b',
        at: '2026-01-02T03:04:05.000Z',
        big: '9007199254740993',
        small: 5,
        dec: '1.10',
        bin: 'aGk=',
        uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
        ts: { t: 5, i: 1 },
        nested: [{ id: '65a1b2c3d4e5f60718293a4b' }],
        nothing: null,
      },
    );
  });

  it('errors are classified by driver class and server code', () => {
    const signal = new AbortController().signal;
    const make = (name: string, props: Record<string, unknown> = {}, message = 'x') =>
      Object.assign(Object.defineProperty(new Error(message), 'name', { value: name }), props);
    const cases: Array<[unknown, string, boolean]> = [
      [make('MongoServerSelectionError'), 'PAR_ERR_MONGODB_CONNECT', true],
      [make('MongoNetworkError'), 'PAR_ERR_MONGODB_CONNECT', true],
      [make('MongoServerError', { code: 18 }), 'PAR_ERR_MONGODB_AUTH', false],
      [make('MongoServerSelectionError', { cause: make('MongoServerError', { code: 18 }) }), 'PAR_ERR_MONGODB_AUTH', false],
      [make('MongoServerError', { code: 13 }), 'PAR_ERR_MONGODB_PERMISSION_DENIED', false],
      [make('MongoServerError', { code: 189 }), 'PAR_ERR_MONGODB_TRANSIENT', true],
      [make('MongoServerError', { code: 2, errorLabels: ['RetryableWriteError'] }), 'PAR_ERR_MONGODB_TRANSIENT', true],
      [make('MongoServerError', { code: 11000 }), 'PAR_ERR_MONGODB_COMMAND_FAILED', false],
      [make('MongoBulkWriteError', { writeErrors: [{ code: 11000, errmsg: 'E11000 dup' }] }), 'PAR_ERR_MONGODB_COMMAND_FAILED', false],
      [make('MongoInvalidArgumentError'), 'PAR_ERR_MONGODB_COMMAND_FAILED', false],
      [make('MongoParseError'), 'PAR_ERR_MONGODB_CREDENTIALS_INVALID', false],
      [
        make('MongoServerSelectionError', {
          cause: make('MongoNetworkError', {
            cause: Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }),
          }),
        }),
        'PAR_ERR_MONGODB_TLS',
        false,
      ],
      [make('Weird'), 'PAR_ERR_ACTION_FAILED', false],
    ];
    for (const [error, code, retryable] of cases) {
      const classified = classifyMongoError(error, { taskSignal: signal });
      assert.equal(classified.code, code, (error as Error).name);
      assert.equal(classified.retryable, retryable, code);
    }
    const aborted = AbortSignal.abort();
    assert.equal(classifyMongoError(make('MongoNetworkError'), { taskSignal: aborted }).code, 'PAR_ERR_TASK_CANCELLED');
  });

  it('connection failures keep no driver text (it names the host)', () => {
    const e = classifyMongoError(
      Object.defineProperty(new Error('connect ECONNREFUSED 10.1.2.3:27017'), 'name', { value: 'MongoServerSelectionError' }),
      { taskSignal: new AbortController().signal },
    );
    assert.doesNotMatch(e.message, /10\.1\.2\.3/);
  });
});
