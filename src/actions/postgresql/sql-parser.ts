/**
 * PostgreSQL's own parser (libpg-query: the server's grammar compiled to WebAssembly), run in a
 * worker thread. Why a thread and not a call: the WASM parser is C code fed with hostile text.
 * A statement nested a few thousand levels deep overflows its stack; it recovers, but leaks the
 * memory it had (~40 MB a time) until the module hits its 1 GB ceiling and aborts for good,
 * printing the statement to stderr and setting the process's exit code. In a thread, any failure
 * that is not a plain syntax error throws the thread away and the next statement gets a fresh
 * one; a parse that takes too long is stopped the same way; a 1 MB statement (up to a second of
 * parsing) does not block the worker's event loop; and the thread's output is not inherited.
 *
 * Statements are parsed one at a time: a failure then only concerns the statement that caused it.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ParError } from '../../errors/par-error.js';
import type { ParsedStatements } from './read-only-statement.js';

/** Much longer than the slowest parse of a 1 MB statement (~1 s on a loaded machine). */
export const DEFAULT_PARSE_TIMEOUT_MS = 15_000;

/** Runs in the thread (CommonJS, plain JS: no build step, no loader needed). */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const lib = require(workerData.modulePath);
lib.loadModule().then(() => {
  parentPort.postMessage({ ready: true });
  parentPort.on('message', (text) => {
    try {
      parentPort.postMessage({ ok: true, json: JSON.stringify(lib.parseSync(text)) });
    } catch (error) {
      const sql = error instanceof lib.SqlError;
      parentPort.postMessage({ ok: false, sql, message: String(error && error.message).slice(0, 500), position: sql && error.sqlDetails ? error.sqlDetails.cursorPosition : undefined });
    }
  });
}, (error) => { throw error; });
`;

type ThreadReply = { ready: true } | { ok: true; json: string } | { ok: false; sql: boolean; message: string; position?: number };

interface Thread {
  readonly worker: Worker;
  /** Settles when the module is loaded (or the thread died first). */
  readonly ready: Promise<void>;
}

export interface SqlParserOptions {
  readonly parseTimeoutMs?: number;
}

export class SqlParser {
  readonly #timeoutMs: number;
  readonly #modulePath = createRequire(import.meta.url).resolve('libpg-query');
  #thread: Thread | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #started = 0;

  constructor(options: SqlParserOptions = {}) {
    this.#timeoutMs = options.parseTimeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
  }

  /**
   * The parse tree of `text`, or a ParError: PAR_ERR_POSTGRES_QUERY_INVALID for text PostgreSQL
   * would not accept or that is too large or deep to check, PAR_ERR_ACTION_FAILED when the
   * parser itself cannot start.
   */
  parse(text: string): Promise<ParsedStatements> {
    // libpg-query reads a C string: text after a NUL would reach the server unchecked.
    if (text.includes('\u0000'))
      return Promise.reject(new ParError('PAR_ERR_POSTGRES_QUERY_INVALID', 'the query contains a NUL character'));
    const run = this.#queue.then(() => this.#parseNow(text));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** How many parser threads were started so far (one, plus one after each discarded thread). */
  get threadsStarted(): number {
    return this.#started;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const thread = this.#thread;
    this.#thread = undefined;
    if (thread) await thread.worker.terminate();
  }

  #start(): Thread {
    this.#started++;
    const worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { modulePath: this.#modulePath },
      // Plain CommonJS: no TypeScript loader in the thread.
      execArgv: [],
      // Not inherited: an aborting module prints the statement and its memory map.
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (reply: ThreadReply) => {
        if ('ready' in reply) {
          worker.off('error', onError);
          worker.off('exit', onExit);
          resolve();
        }
      };
      const onError = (error: Error) => reject(error);
      const onExit = (code: number) => reject(new Error(`the parser thread exited (${code}) before it was ready`));
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
    ready.catch(() => undefined);
    worker.on('error', () => undefined);
    return { worker, ready };
  }

  #discard(thread: Thread): void {
    if (this.#thread === thread) this.#thread = undefined;
    void thread.worker.terminate().catch(() => undefined);
  }

  async #parseNow(text: string): Promise<ParsedStatements> {
    if (this.#closed) throw new ParError('PAR_ERR_ACTION_FAILED', 'the SQL parser is closed');
    const thread = (this.#thread ??= this.#start());
    try {
      await thread.ready;
    } catch (error) {
      this.#discard(thread);
      throw new ParError('PAR_ERR_ACTION_FAILED', 'the SQL parser could not start', { cause: error });
    }
    const reply = await new Promise<ThreadReply | 'timeout' | 'died'>((resolve) => {
      const timer = setTimeout(() => settle('timeout'), this.#timeoutMs);
      const onMessage = (message: ThreadReply) => settle(message);
      const onExit = () => settle('died');
      function settle(outcome: ThreadReply | 'timeout' | 'died'): void {
        clearTimeout(timer);
        thread.worker.off('message', onMessage);
        thread.worker.off('exit', onExit);
        resolve(outcome);
      }
      thread.worker.on('message', onMessage);
      thread.worker.on('exit', onExit);
      thread.worker.postMessage(text);
    });
    if (reply === 'timeout' || reply === 'died' || 'ready' in reply || (!reply.ok && !reply.sql)) {
      // A stack overflow, an abort, memory exhausted, or too slow: never reuse this thread.
      this.#discard(thread);
      const why = reply === 'timeout' ? `took longer than ${this.#timeoutMs} ms to parse` : 'is too large or too deeply nested to check';
      throw new ParError('PAR_ERR_POSTGRES_QUERY_INVALID', `the query ${why}`);
    }
    if (!reply.ok) {
      // The grammar's own stack limit: an error like any other, but start afresh after it.
      if (reply.message.startsWith('memory exhausted')) this.#discard(thread);
      const at = reply.position !== undefined && reply.position >= 0 ? ` (at character ${reply.position + 1})` : '';
      throw new ParError('PAR_ERR_POSTGRES_QUERY_INVALID', `${reply.message}${at}`);
    }
    return JSON.parse(reply.json) as ParsedStatements;
  }
}
