/**
 * The `com.datadoghq.mongodb` data actions, each one driver call on the connection's database,
 * with the vendor's inputs and outputs:
 *
 *   find            {collection, filter}                        -> {results}           (15 MiB of JSON at most, as the vendor,
 *                                                                                   or the worker's PAR_HTTP_MAX_RESPONSE_BYTES if lower)
 *   insertOne       {collection, document}                      -> {insertedId}
 *   insertMany      {collection, documents, options}            -> {insertedIds}
 *   updateOne/Many  {collection, filter, update}                -> {matchedCount, modifiedCount, upsertedId?}
 *   replaceOne      {collection, filter, replacement, upsert}   -> {matchedCount, modifiedCount, upsertedId?}
 *   countDocuments  {collection, filter}                        -> {count}
 *   createIndex     {collection, keys, options}                 -> {indexName}
 *   findAndModify   {collection, filter, update, options}       -> {modifiedDocument}
 *
 * Cancellation: the task's AbortSignal goes to the driver with every operation (it closes the
 * connection the operation was using when it aborts mid-flight), and the task stops waiting at
 * once even where the driver would not notice. A write the server already received may still be
 * applied, as with any client that disconnects.
 */
import type { Collection } from 'mongodb';
import { raceAbort } from '../abortable.js';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { classifyMongoError } from './classify.js';
import type { MongoClientCache, MongoClientLease } from './clients.js';
import { mongoSettingsFromCredentials } from './connection-settings.js';
import {
  countDocumentsInputSchema,
  createIndexInputSchema,
  findAndModifyInputSchema,
  findInputSchema,
  insertManyInputSchema,
  insertOneInputSchema,
  replaceOneInputSchema,
  updateInputSchema,
} from './inputs.js';
import { plainDocument, toPlain } from './plain.js';

export const MONGODB_PREFIX = 'com.datadoghq.mongodb';
/** The vendor's cap on the JSON size of find results. */
export const MAX_FIND_OUTPUT_BYTES = 15 * 1024 * 1024;

export interface MongoActionDeps {
  readonly clients: MongoClientCache;
}

/**
 * Adds the task's signal to a write's options. The driver's types declare `signal` (experimental)
 * on reads and commands only, but its operation executor honours it for every operation.
 */
function withSignal<T extends object>(options: T, signal: AbortSignal): T {
  return { ...options, signal };
}

function cancelled(): ParError {
  return new ParError('PAR_ERR_TASK_CANCELLED', 'aborted before MongoDB answered');
}

/** Settles with `work`, or rejects as cancelled as soon as the signal aborts. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(work, signal, cancelled);
}

/** Runs `operation` on the connection's database and collection; every failure is classified here. */
async function onCollection<T>(
  deps: MongoActionDeps,
  ctx: ActionContext,
  collection: string,
  operation: (coll: Collection, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const settings = mongoSettingsFromCredentials(ctx.credentials);
  if (settings.database.length === 0) {
    throw new ParError('PAR_ERR_MONGODB_CREDENTIALS_INVALID', 'token "database" is missing or empty (the database the actions work on)');
  }
  if (ctx.signal.aborted) throw cancelled();
  let lease: MongoClientLease;
  try {
    lease = await deps.clients.lease(settings);
  } catch (error) {
    throw classifyMongoError(error, { taskSignal: ctx.signal });
  }
  const held = lease;
  const work = Promise.resolve().then(() => operation(held.client.db(settings.database).collection(collection), ctx.signal));
  // Held until the driver call settles, even when the task stopped waiting for it.
  work.then(
    () => held.release(),
    () => held.release(),
  );
  try {
    return await abortable(work, ctx.signal);
  } catch (error) {
    throw classifyMongoError(error, { taskSignal: ctx.signal });
  }
}

function updateOutput(result: { matchedCount: number; modifiedCount: number; upsertedId: unknown }) {
  return {
    matchedCount: result.matchedCount,
    modifiedCount: result.modifiedCount,
    ...(result.upsertedId === null || result.upsertedId === undefined ? {} : { upsertedId: toPlain(result.upsertedId) }),
  };
}

function action(name: string) {
  return `${MONGODB_PREFIX}.${name}`;
}

export function mongoDataActions(deps: MongoActionDeps): RegisteredAction[] {
  return [
    defineAction({
      fqn: action('find'),
      inputSchema: findInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) => {
          const cap = Math.min(MAX_FIND_OUTPUT_BYTES, ctx.limits.httpMaxResponseBytes);
          const cursor = coll.find(inputs.filter, { signal });
          const results: Record<string, unknown>[] = [];
          let size = 0;
          try {
            for await (const doc of cursor) {
              const plain = plainDocument(doc);
              const bytes = Buffer.byteLength(JSON.stringify(plain));
              if (size + bytes > cap) break; // as the vendor: the documents that fit
              results.push(plain);
              size += bytes;
            }
          } finally {
            await cursor.close().catch(() => undefined);
          }
          return { results };
        }),
    }),
    defineAction({
      fqn: action('insertOne'),
      inputSchema: insertOneInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) => {
          const result = await coll.insertOne({ ...inputs.document }, withSignal({}, signal));
          return { insertedId: toPlain(result.insertedId) };
        }),
    }),
    defineAction({
      fqn: action('insertMany'),
      inputSchema: insertManyInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) => {
          const result = await coll.insertMany(
            inputs.documents.map((d) => ({ ...d })),
            withSignal({ ...inputs.options }, signal),
          );
          const ids = Object.entries(result.insertedIds)
            .sort(([a], [b]) => Number(a) - Number(b))
            .map(([, id]) => toPlain(id));
          return { insertedIds: ids };
        }),
    }),
    defineAction({
      fqn: action('updateOne'),
      inputSchema: updateInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) =>
          updateOutput(await coll.updateOne(inputs.filter, inputs.update, withSignal({}, signal))),
        ),
    }),
    defineAction({
      fqn: action('updateMany'),
      inputSchema: updateInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) =>
          updateOutput(await coll.updateMany(inputs.filter, inputs.update, withSignal({}, signal))),
        ),
    }),
    defineAction({
      fqn: action('replaceOne'),
      inputSchema: replaceOneInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) =>
          updateOutput(await coll.replaceOne(inputs.filter, inputs.replacement, withSignal({ upsert: inputs.upsert }, signal))),
        ),
    }),
    defineAction({
      fqn: action('countDocuments'),
      inputSchema: countDocumentsInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) => ({
          count: await coll.countDocuments(inputs.filter, { signal }),
        })),
    }),
    defineAction({
      fqn: action('createIndex'),
      inputSchema: createIndexInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) => ({
          indexName: await coll.createIndex(inputs.keys, withSignal({ ...inputs.options }, signal)),
        })),
    }),
    defineAction({
      fqn: action('findAndModify'),
      inputSchema: findAndModifyInputSchema,
      run: (inputs, ctx) =>
        onCollection(deps, ctx, inputs.collection, async (coll, signal) => {
          const options = inputs.options ?? {};
          const doc = await coll.findOneAndUpdate(
            inputs.filter,
            inputs.update,
            withSignal({ ...options, returnDocument: options.returnDocument ?? 'before', includeResultMetadata: false as const }, signal),
          );
          if (doc === null) {
            // With upsert the document was inserted; there was no earlier version to return.
            if (options.upsert) return {};
            throw new ParError('PAR_ERR_MONGODB_NO_DOCUMENT', 'no document matches the filter');
          }
          return { modifiedDocument: plainDocument(doc) };
        }),
    }),
  ];
}
