/**
 * A FAKE MongoDB server for tests. No MongoDB can be installed on the test machine, so this stands
 * in for mongod on loopback (node:net, 127.0.0.1, random port). It speaks the real wire protocol
 * with real BSON (the `bson` package the driver itself uses): OP_QUERY/OP_REPLY for the driver's
 * first handshake, OP_MSG (opcode 2013, body and document-sequence sections) for everything
 * after, and it runs the real SCRAM-SHA-256 exchange (RFC 5802/7677, PBKDF2 with 4096
 * iterations, proof and server signature checked), so the official driver authenticates against
 * it exactly as against mongod. The driver does all the talking; the code under test never sees
 * a byte of BSON. It is NOT a conformant MongoDB server.
 *
 * Covered: a standalone server (maxWireVersion 21, i.e. 7.0) with `hello`/`isMaster`, `ping`,
 * `buildInfo`, `saslStart`/`saslContinue` (SCRAM-SHA-256 only; one user, registered in one auth
 * database), `find` (filter, sort, projection of included fields, skip, limit, batchSize) with
 * `getMore`/`killCursors`, `insert` (duplicate `_id` -> write error 11000), `update` ($set, $inc,
 * $unset or a replacement; multi; upsert), `delete`, `count`, `aggregate` (only $match, $skip,
 * $limit and a constant-key $group with {$sum: 1}, which is what `countDocuments` sends),
 * `createIndexes`, `findAndModify` (update form, new, upsert, sort), `endSessions`. Filters:
 * equality (deep, also against array elements), $eq $ne $gt $gte $lt $lte $in $nin $exists,
 * $and $or $nor, dotted paths. Commands before authentication fail with 13 Unauthorized.
 * Test hooks: `failNext(code, name, times)` (the next data commands fail with that server error code),
 * `stallNext()` (the next data command is never answered), `commands` (what was asked, names
 * and databases only), `connectionsOpen`.
 * A TLS ClientHello is answered as mongod without TLS does: the connection is closed.
 * Not covered: TLS, replica sets, transactions, other auth mechanisms, other operators, the
 * aggregation language beyond the above, indexes beyond their names (no unique enforcement
 * except `_id`), write concerns, collation.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { Binary, Long, ObjectId, deserialize, serialize, type Document } from 'bson';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const MORE_TO_COME = 1 << 1;
const CHECKSUM_PRESENT = 1;
const SCRAM_ITERATIONS = 4096;

export interface FakeMongoUser {
  readonly username: string;
  readonly password: string;
  /** The database the user is defined in (the connection's authSource). Default `admin`. */
  readonly authSource?: string;
}

export interface FakeMongoOptions {
  /** When set, every command but the handshake and SASL needs an authenticated connection. */
  readonly user?: FakeMongoUser;
}

export interface SeenCommand {
  readonly name: string;
  readonly db: string;
  readonly collection?: string | undefined;
}

export interface FakeMongoServer {
  readonly host: string;
  readonly port: number;
  /** Commands received (names, databases, collections), oldest first. Handshakes and monitoring hellos excluded. */
  readonly commands: SeenCommand[];
  readonly connectionsOpen: number;
  /** Successful and failed SCRAM conversations. */
  readonly auth: { succeeded: number; failed: number };
  collection(db: string, name: string): Document[];
  indexes(db: string, name: string): Document[];
  /** The next `times` data commands fail with this server error code (e.g. 91 ShutdownInProgress). */
  failNext(code: number, codeName?: string, times?: number): void;
  /** The next data command is never answered (cancellation tests). */
  stallNext(): void;
  close(): Promise<void>;
}

const HANDSHAKE = new Set(['hello', 'ismaster', 'isMaster']);
const UNAUTHENTICATED_OK = new Set([...HANDSHAKE, 'saslStart', 'saslContinue', 'ping', 'buildInfo', 'buildinfo', 'endSessions']);

interface Scram {
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
}

interface ConnState {
  authenticated: boolean;
  scram?: Scram | undefined;
}

interface Cursor {
  ns: string;
  docs: Document[];
}

class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

// --- values, paths and the filter matcher -------------------------------------------------------

function isPlainDoc(v: unknown): v is Document {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !('_bsontype' in v);
}

function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Document = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainDoc(cur[part])) cur[part] = {};
    cur = cur[part] as Document;
  }
  cur[parts[parts.length - 1]!] = value;
}

function unsetPath(doc: Document, path: string): void {
  const parts = path.split('.');
  const parent = parts.length === 1 ? doc : getPath(doc, parts.slice(0, -1).join('.'));
  if (isPlainDoc(parent)) delete parent[parts[parts.length - 1]!];
}

function comparable(v: unknown): unknown {
  if (v instanceof ObjectId) return v.toHexString();
  if (v instanceof Date) return v.getTime();
  if (v instanceof Long) return v.toNumber();
  return v;
}

function equal(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(comparable(a), comparable(b)) || isDeepStrictEqual(a, b);
}

function compare(a: unknown, b: unknown): number | undefined {
  const x = comparable(a);
  const y = comparable(b);
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  return undefined;
}

/** The value and, for an array, each element: MongoDB matches a condition against either. */
function candidates(v: unknown): unknown[] {
  return Array.isArray(v) ? [v, ...v] : [v];
}

function matchesCondition(value: unknown, cond: unknown): boolean {
  if (isPlainDoc(cond) && Object.keys(cond).some((k) => k.startsWith('$'))) {
    return Object.entries(cond).every(([op, arg]) => {
      switch (op) {
        case '$eq':
          return candidates(value).some((c) => equal(c, arg));
        case '$ne':
          return !candidates(value).some((c) => equal(c, arg));
        case '$gt':
          return candidates(value).some((c) => (compare(c, arg) ?? 0) > 0 && compare(c, arg) !== undefined);
        case '$gte':
          return candidates(value).some((c) => compare(c, arg) !== undefined && compare(c, arg)! >= 0);
        case '$lt':
          return candidates(value).some((c) => compare(c, arg) !== undefined && compare(c, arg)! < 0);
        case '$lte':
          return candidates(value).some((c) => compare(c, arg) !== undefined && compare(c, arg)! <= 0);
        case '$in':
          return Array.isArray(arg) && arg.some((a) => candidates(value).some((c) => equal(c, a)));
        case '$nin':
          return Array.isArray(arg) && !arg.some((a) => candidates(value).some((c) => equal(c, a)));
        case '$exists':
          return (value !== undefined) === Boolean(arg);
        default:
          throw new CommandError(2, 'BadValue', `unknown operator: ${op}`);
      }
    });
  }
  return candidates(value).some((c) => equal(c, cond)) || (cond === null && value === undefined);
}

export function matches(doc: Document, filter: Document | undefined): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return (cond as Document[]).every((f) => matches(doc, f));
    if (key === '$or') return (cond as Document[]).some((f) => matches(doc, f));
    if (key === '$nor') return !(cond as Document[]).some((f) => matches(doc, f));
    if (key.startsWith('$')) throw new CommandError(2, 'BadValue', `unknown top level operator: ${key}`);
    return matchesCondition(getPath(doc, key), cond);
  });
}

function applyUpdate(doc: Document, update: Document): Document {
  const keys = Object.keys(update);
  if (!keys.some((k) => k.startsWith('$'))) {
    // A replacement keeps the _id.
    return { _id: doc['_id'], ...Object.fromEntries(Object.entries(update).filter(([k]) => k !== '_id')) };
  }
  const out = deserialize(serialize(doc)); // a deep copy that keeps BSON types
  for (const [op, fields] of Object.entries(update)) {
    if (!isPlainDoc(fields))
      throw new CommandError(9, 'FailedToParse', `Modifiers operate on fields but we found type ${typeof fields} instead`);
    for (const [path, value] of Object.entries(fields)) {
      if (path === '_id' || path.startsWith('_id.'))
        throw new CommandError(66, 'ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
      switch (op) {
        case '$set':
          setPath(out, path, value);
          break;
        case '$unset':
          unsetPath(out, path);
          break;
        case '$inc': {
          const current = getPath(out, path) ?? 0;
          if (typeof current !== 'number' || typeof value !== 'number') {
            throw new CommandError(14, 'TypeMismatch', `Cannot apply $inc to a value of non-numeric type`);
          }
          setPath(out, path, current + value);
          break;
        }
        default:
          throw new CommandError(
            9,
            'FailedToParse',
            `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
          );
      }
    }
  }
  return out;
}

function sortDocs(docs: Document[], sort: Document | undefined): Document[] {
  if (!sort || Object.keys(sort).length === 0) return docs;
  const keys = Object.entries(sort);
  return [...docs].sort((a, b) => {
    for (const [k, dir] of keys) {
      const c = compare(getPath(a, k), getPath(b, k)) ?? 0;
      if (c !== 0) return Number(dir) < 0 ? -c : c;
    }
    return 0;
  });
}

function project(doc: Document, projection: Document | undefined): Document {
  const included = Object.entries(projection ?? {})
    .filter(([, v]) => v === 1 || v === true)
    .map(([k]) => k);
  if (included.length === 0) return doc;
  const out: Document = { _id: doc['_id'] };
  for (const k of included) if (getPath(doc, k) !== undefined) setPath(out, k, getPath(doc, k));
  if (projection?.['_id'] === 0 || projection?.['_id'] === false) delete out['_id'];
  return out;
}

/** What an upsert starts from: the filter's equality fields. */
function seedFromFilter(filter: Document | undefined): Document {
  const doc: Document = {};
  for (const [k, v] of Object.entries(filter ?? {})) {
    if (k.startsWith('$')) continue;
    if (isPlainDoc(v) && Object.keys(v).some((x) => x.startsWith('$'))) {
      if ('$eq' in v) setPath(doc, k, v['$eq']);
      continue;
    }
    setPath(doc, k, v);
  }
  return doc;
}

// --- SCRAM-SHA-256 ------------------------------------------------------------------------------

function parseScram(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function payloadText(payload: unknown): string {
  if (payload instanceof Binary) return Buffer.from(payload.buffer).toString('utf8');
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  if (payload instanceof Uint8Array) return Buffer.from(payload).toString('utf8');
  return String((payload as string | number | boolean | null | undefined) ?? '');
}

const AUTH_FAILED = () => new CommandError(18, 'AuthenticationFailed', 'Authentication failed.');

// --- the server ---------------------------------------------------------------------------------

export async function startFakeMongoServer(options: FakeMongoOptions = {}): Promise<FakeMongoServer> {
  const data = new Map<string, Document[]>();
  const indexes = new Map<string, Document[]>();
  const cursors = new Map<string, Cursor>();
  const commands: SeenCommand[] = [];
  const auth = { succeeded: 0, failed: 0 };
  const sockets = new Set<Socket>();
  let nextFailure: { code: number; codeName: string; times: number } | undefined;
  let stall = false;
  let requestIds = 1;
  let connectionIds = 1;
  let cursorIds = 1n;
  const salt = randomBytes(16);
  const user = options.user;
  const saltedPassword = user ? pbkdf2Sync(user.password.normalize('NFKC'), salt, SCRAM_ITERATIONS, 32, 'sha256') : undefined;

  const coll = (db: string, name: string): Document[] => {
    const key = `${db}.${name}`;
    let docs = data.get(key);
    if (!docs) {
      docs = [];
      data.set(key, docs);
      indexes.set(key, [{ v: 2, key: { _id: 1 }, name: '_id_' }]);
    }
    return docs;
  };

  function hello(cmd: Document): Document {
    const reply: Document = {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: connectionIds++,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
    if (user && typeof cmd['saslSupportedMechs'] === 'string') reply['saslSupportedMechs'] = ['SCRAM-SHA-256'];
    return reply;
  }

  function saslStart(cmd: Document, db: string, state: ConnState): Document {
    if (cmd['mechanism'] !== 'SCRAM-SHA-256' || !user) {
      auth.failed++;
      throw new CommandError(
        334,
        'MechanismUnavailable',
        `Received authentication for mechanism ${String(cmd['mechanism'])} which is not enabled`,
      );
    }
    const first = payloadText(cmd['payload']);
    if (!first.startsWith('n,,')) throw AUTH_FAILED();
    const clientFirstBare = first.slice(3);
    const attrs = parseScram(clientFirstBare);
    const name = (attrs['n'] ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
    if (name !== user.username || db !== (user.authSource ?? 'admin') || !attrs['r']) {
      auth.failed++;
      throw AUTH_FAILED();
    }
    const nonce = attrs['r'] + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${SCRAM_ITERATIONS}`;
    state.scram = { clientFirstBare, serverFirst, nonce };
    return { conversationId: 1, done: false, payload: new Binary(Buffer.from(serverFirst)), ok: 1 };
  }

  function saslContinue(cmd: Document, state: ConnState): Document {
    const scram = state.scram;
    state.scram = undefined;
    if (!scram || !saltedPassword) throw AUTH_FAILED();
    const final = payloadText(cmd['payload']);
    const attrs = parseScram(final);
    const withoutProof = final.slice(0, final.lastIndexOf(',p='));
    if (attrs['r'] !== scram.nonce || attrs['c'] !== 'biws' || !attrs['p']) {
      auth.failed++;
      throw AUTH_FAILED();
    }
    const authMessage = `${scram.clientFirstBare},${scram.serverFirst},${withoutProof}`;
    const storedKey = createHash('sha256').update(hmac(saltedPassword, 'Client Key')).digest();
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(attrs['p'], 'base64');
    if (proof.length !== signature.length) {
      auth.failed++;
      throw AUTH_FAILED();
    }
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    if (!timingSafeEqual(createHash('sha256').update(clientKey).digest(), storedKey)) {
      auth.failed++;
      throw AUTH_FAILED();
    }
    state.authenticated = true;
    auth.succeeded++;
    const serverSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage).toString('base64');
    return { conversationId: 1, done: true, payload: new Binary(Buffer.from(`v=${serverSignature}`)), ok: 1 };
  }

  function cursorReply(ns: string, docs: Document[], batchSize: number | undefined, first: boolean): Document {
    const size = batchSize && batchSize > 0 ? batchSize : first ? 101 : docs.length;
    const batch = docs.slice(0, size);
    const rest = docs.slice(size);
    let id = Long.ZERO;
    if (rest.length > 0) {
      const n = cursorIds++;
      cursors.set(n.toString(), { ns, docs: rest });
      id = Long.fromBigInt(n);
    }
    return { cursor: { id, ns, [first ? 'firstBatch' : 'nextBatch']: batch }, ok: 1 };
  }

  function update(db: string, name: string, statements: Document[]): Document {
    const docs = coll(db, name);
    let n = 0;
    let nModified = 0;
    const upserted: Document[] = [];
    statements.forEach((s, index) => {
      const q = s['q'] as Document | undefined;
      const u = s['u'] as Document;
      const hits = docs.filter((d) => matches(d, q));
      const targets = s['multi'] ? hits : hits.slice(0, 1);
      for (const d of targets) {
        const next = applyUpdate(d, u);
        n++;
        if (!isDeepStrictEqual(next, d)) {
          nModified++;
          docs[docs.indexOf(d)] = next;
        }
      }
      if (targets.length === 0 && s['upsert']) {
        const doc = applyUpdate(seedFromFilter(q), u);
        if (doc['_id'] === undefined) doc['_id'] = new ObjectId();
        docs.push({ _id: doc['_id'], ...doc });
        upserted.push({ index, _id: doc['_id'] });
        n++;
      }
    });
    return { n, nModified, ...(upserted.length ? { upserted } : {}), ok: 1 };
  }

  function run(cmd: Document, state: ConnState): Document {
    const name = Object.keys(cmd)[0] ?? '';
    const db = String(cmd['$db'] ?? 'admin');
    if (HANDSHAKE.has(name)) return hello(cmd);
    const target = typeof cmd[name] === 'string' ? cmd[name] : undefined;
    commands.push({ name, db, collection: target });
    if (name === 'saslStart') return saslStart(cmd, db, state);
    if (name === 'saslContinue') return saslContinue(cmd, state);
    if (user && !state.authenticated && !UNAUTHENTICATED_OK.has(name)) {
      throw new CommandError(13, 'Unauthorized', `Command ${name} requires authentication`);
    }
    if (nextFailure && !UNAUTHENTICATED_OK.has(name)) {
      const f = nextFailure;
      if (--f.times <= 0) nextFailure = undefined;
      throw new CommandError(f.code, f.codeName, `fake failure ${f.codeName}`);
    }
    switch (name) {
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return { version: '7.0.0-fake', versionArray: [7, 0, 0, 0], maxBsonObjectSize: 16 * 1024 * 1024, ok: 1 };
      case 'find': {
        let docs = sortDocs(
          coll(db, target!).filter((d) => matches(d, cmd['filter'] as Document)),
          cmd['sort'] as Document,
        );
        docs = docs.slice(Number(cmd['skip'] ?? 0));
        const limit = Math.abs(Number(cmd['limit'] ?? 0));
        if (limit > 0) docs = docs.slice(0, limit);
        docs = docs.map((d) => project(d, cmd['projection'] as Document));
        if (cmd['singleBatch']) return { cursor: { id: Long.ZERO, ns: `${db}.${target}`, firstBatch: docs }, ok: 1 };
        return cursorReply(`${db}.${target}`, docs, cmd['batchSize'] as number | undefined, true);
      }
      case 'getMore': {
        const id = (cmd['getMore'] as Long | number).toString();
        const cursor = cursors.get(id);
        if (!cursor) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
        cursors.delete(id);
        return cursorReply(cursor.ns, cursor.docs, cmd['batchSize'] as number | undefined, false);
      }
      case 'killCursors': {
        const ids = (cmd['cursors'] as Array<Long | number>).map((c) => c.toString());
        for (const id of ids) cursors.delete(id);
        return { cursorsKilled: cmd['cursors'], cursorsNotFound: [], cursorsAlive: [], cursorsUnknown: [], ok: 1 };
      }
      case 'insert': {
        const docs = coll(db, target!);
        const writeErrors: Document[] = [];
        let n = 0;
        const list = cmd['documents'] as Document[];
        for (const [index, doc] of list.entries()) {
          if (doc['_id'] === undefined) doc['_id'] = new ObjectId();
          if (docs.some((d) => equal(d['_id'], doc['_id']))) {
            writeErrors.push({ index, code: 11000, errmsg: `E11000 duplicate key error collection: ${db}.${target} index: _id_ dup key` });
            if (cmd['ordered'] !== false) break;
            continue;
          }
          const { _id, ...rest } = doc;
          docs.push({ _id, ...rest }); // mongod stores _id first
          n++;
        }
        return { n, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
      }
      case 'update':
        return update(db, target!, cmd['updates'] as Document[]);
      case 'delete': {
        const docs = coll(db, target!);
        let n = 0;
        for (const s of cmd['deletes'] as Document[]) {
          const hits = docs.filter((d) => matches(d, s['q'] as Document));
          for (const d of Number(s['limit']) === 1 ? hits.slice(0, 1) : hits) {
            docs.splice(docs.indexOf(d), 1);
            n++;
          }
        }
        return { n, ok: 1 };
      }
      case 'count':
        return { n: coll(db, target!).filter((d) => matches(d, cmd['query'] as Document)).length, ok: 1 };
      case 'aggregate': {
        let docs = coll(db, target!);
        for (const stage of cmd['pipeline'] as Document[]) {
          const [op, arg] = Object.entries(stage)[0] ?? [];
          if (op === '$match') docs = docs.filter((d) => matches(d, arg as Document));
          else if (op === '$skip') docs = docs.slice(Number(arg));
          else if (op === '$limit') docs = docs.slice(0, Number(arg));
          else if (
            op === '$group' &&
            isPlainDoc(arg) &&
            Object.values(arg)
              .slice(1)
              .every((v) => isDeepStrictEqual(v, { $sum: 1 }))
          ) {
            const [, ...fields] = Object.keys(arg);
            docs = docs.length === 0 ? [] : [{ _id: arg['_id'], ...Object.fromEntries(fields.map((f) => [f, docs.length])) }];
          } else throw new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${String(op)}' (fake server)`);
        }
        return cursorReply(`${db}.${target}`, docs, (cmd['cursor'] as Document | undefined)?.['batchSize'] as number | undefined, true);
      }
      case 'createIndexes': {
        coll(db, target!);
        const list = indexes.get(`${db}.${target}`)!;
        const before = list.length;
        for (const spec of cmd['indexes'] as Document[]) {
          if (!isPlainDoc(spec['key']) || Object.keys(spec['key']).length === 0)
            throw new CommandError(67, 'CannotCreateIndex', 'Index keys cannot be empty.');
          if (typeof spec['name'] !== 'string') throw new CommandError(9, 'FailedToParse', 'index name must be a string');
          const same = list.find((i) => i['name'] === spec['name']);
          if (same && !isDeepStrictEqual(same['key'], spec['key']))
            throw new CommandError(
              86,
              'IndexKeySpecsConflict',
              `An existing index has the same name as the requested index: ${spec['name']}`,
            );
          if (!same) list.push({ v: 2, ...spec });
        }
        return { numIndexesBefore: before, numIndexesAfter: list.length, createdCollectionAutomatically: false, ok: 1 };
      }
      case 'findAndModify': {
        const docs = coll(db, target!);
        const query = cmd['query'] as Document | undefined;
        const hit = sortDocs(
          docs.filter((d) => matches(d, query)),
          cmd['sort'] as Document,
        )[0];
        if (cmd['remove']) throw new CommandError(2, 'BadValue', 'remove is not supported by the fake server');
        const u = cmd['update'] as Document;
        if (hit) {
          const next = applyUpdate(hit, u);
          docs[docs.indexOf(hit)] = next;
          return {
            lastErrorObject: { n: 1, updatedExisting: true },
            value: project(cmd['new'] ? next : hit, cmd['fields'] as Document),
            ok: 1,
          };
        }
        if (cmd['upsert']) {
          const doc = applyUpdate(seedFromFilter(query), u);
          if (doc['_id'] === undefined) doc['_id'] = new ObjectId();
          docs.push(doc);
          return {
            lastErrorObject: { n: 1, updatedExisting: false, upserted: doc['_id'] },
            value: cmd['new'] ? project(doc, cmd['fields'] as Document) : null,
            ok: 1,
          };
        }
        return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      }
      default:
        throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
    }
  }

  function execute(cmd: Document, state: ConnState): Document | undefined {
    const name = Object.keys(cmd)[0] ?? '';
    if (stall && !HANDSHAKE.has(name) && !UNAUTHENTICATED_OK.has(name)) {
      stall = false;
      commands.push({ name, db: String(cmd['$db'] ?? 'admin'), collection: typeof cmd[name] === 'string' ? cmd[name] : undefined });
      return undefined;
    }
    try {
      return run(cmd, state);
    } catch (error) {
      if (error instanceof CommandError) return { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName };
      return { ok: 0, errmsg: (error as Error).message, code: 1, codeName: 'InternalError' };
    }
  }

  function header(length: number, responseTo: number, opCode: number): Buffer {
    const h = Buffer.alloc(16);
    h.writeInt32LE(length, 0);
    h.writeInt32LE(requestIds++, 4);
    h.writeInt32LE(responseTo, 8);
    h.writeInt32LE(opCode, 12);
    return h;
  }

  function opMsgReply(responseTo: number, doc: Document): Buffer {
    const body = Buffer.from(serialize(doc));
    const flags = Buffer.alloc(4);
    return Buffer.concat([header(16 + 4 + 1 + body.length, responseTo, OP_MSG), flags, Buffer.from([0]), body]);
  }

  function opReply(responseTo: number, doc: Document): Buffer {
    const body = Buffer.from(serialize(doc));
    const fixed = Buffer.alloc(20); // responseFlags, cursorID (int64), startingFrom, numberReturned
    fixed.writeInt32LE(1, 16);
    return Buffer.concat([header(16 + 20 + body.length, responseTo, OP_REPLY), fixed, body]);
  }

  /** OP_MSG: flagBits, then sections (kind 0: the body; kind 1: a named document sequence). */
  function parseOpMsg(msg: Buffer): { cmd: Document; flags: number } {
    const flags = msg.readUInt32LE(16);
    const end = msg.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
    let offset = 20;
    let cmd: Document = {};
    const sequences: Array<[string, Document[]]> = [];
    while (offset < end) {
      const kind = msg[offset++];
      if (kind === 0) {
        const size = msg.readInt32LE(offset);
        cmd = deserialize(msg.subarray(offset, offset + size));
        offset += size;
      } else if (kind === 1) {
        const size = msg.readInt32LE(offset);
        const sectionEnd = offset + size;
        let p = offset + 4;
        const nul = msg.indexOf(0, p);
        const id = msg.toString('utf8', p, nul);
        p = nul + 1;
        const docs: Document[] = [];
        while (p < sectionEnd) {
          const docSize = msg.readInt32LE(p);
          docs.push(deserialize(msg.subarray(p, p + docSize)));
          p += docSize;
        }
        sequences.push([id, docs]);
        offset = sectionEnd;
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    for (const [id, docs] of sequences) cmd[id] = docs;
    return { cmd, flags };
  }

  /** OP_QUERY (the driver's first hello only): flags, fullCollectionName, skip, return, query. */
  function parseOpQuery(msg: Buffer): Document {
    const nul = msg.indexOf(0, 20);
    const ns = msg.toString('utf8', 20, nul);
    const p = nul + 1 + 8;
    const size = msg.readInt32LE(p);
    const query = deserialize(msg.subarray(p, p + size));
    const inner = (query['$query'] as Document | undefined) ?? query;
    return { ...inner, $db: ns.split('.')[0] };
  }

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const state: ConnState = { authenticated: false };
    let pending = Buffer.alloc(0);
    let first = true;
    socket.on('data', (chunk) => {
      // Like mongod without TLS: a TLS ClientHello ("SSL handshake received but server is started
      // without SSL support") closes the connection.
      if (first && chunk[0] === 0x16 && chunk[1] === 0x03) {
        socket.destroy();
        return;
      }
      first = false;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readInt32LE(0);
        if (length < 16 || length > 48_000_000) {
          socket.destroy();
          return;
        }
        if (pending.length < length) return;
        const msg = pending.subarray(0, length);
        pending = pending.subarray(length);
        const requestId = msg.readInt32LE(4);
        const opCode = msg.readInt32LE(12);
        if (opCode === OP_MSG) {
          const { cmd, flags } = parseOpMsg(msg);
          const reply = execute(cmd, state);
          if (reply && !(flags & MORE_TO_COME)) socket.write(opMsgReply(requestId, reply));
        } else if (opCode === OP_QUERY) {
          const reply = execute(parseOpQuery(msg), state);
          if (reply) socket.write(opReply(requestId, reply));
        } else {
          socket.destroy();
          return;
        }
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    commands,
    auth,
    get connectionsOpen() {
      return sockets.size;
    },
    collection: (db, name) => coll(db, name),
    indexes: (db, name) => {
      coll(db, name);
      return indexes.get(`${db}.${name}`)!;
    },
    failNext: (code, codeName = 'FakeFailure', times = 1) => {
      nextFailure = { code, codeName, times };
    },
    stallNext: () => {
      stall = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
