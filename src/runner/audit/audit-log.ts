/**
 * The runner's append-only, hash-chained audit log (writer side).
 *
 * Durability policy: every append is ONE write(2) of whole lines to a file opened with O_APPEND,
 * followed by fdatasync before the append resolves (group commit: appends that arrive while a
 * write is in flight go out together in the next write). Intake awaits its append before it
 * queues a task, so a task never runs without its verdict on disk. A crash mid-write can leave
 * only a torn final line (no newline): it is cut off when the log is next opened and the chain
 * still verifies; every entry before it was already synced. A failed write is undone by
 * truncating back to the last good size; a failed fdatasync (the kernel may have dropped the
 * pages) marks the log broken: every later append fails and intake stops accepting tasks.
 *
 * Checkpoints: after the batch that brings the entries since the last checkpoint to
 * `checkpointEvery`, every `checkpointIntervalMs` when there are new entries, before a rotation
 * and on close, a `checkpoint` entry signed with the runner identity key is appended and
 * `audit-head.json` is replaced with it.
 *
 * Rotation: when the current file reaches `maxFileBytes` (checked before each write, so a file
 * can exceed it by one batch), it ends with a checkpoint and the next file starts with a `file`
 * entry whose `prev` is that checkpoint's hash: one chain across all files.
 *
 * One writer per directory: `audit.lock` holds the writer's pid; a live other pid refuses start.
 */
import { mkdir, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ParError } from '../../errors/par-error.js';
import type { Logger } from '../../logging/logger.js';
import {
  GENESIS,
  entryHash,
  entryLine,
  sealEntry,
  signCheckpoint,
  type AuditEntry,
  type AuditRecord,
  type CheckpointKey,
  type CheckpointRecord,
} from './entry.js';
import { LOCK_FILE, auditFileName, listAuditFiles, readHead, syncDir, writeHead } from './files.js';
import { periodic, type Periodic } from '../../lib/periodic.js';

export interface AuditLogOptions {
  dir: string;
  runnerId: string;
  /** The identity key at start (`handOverKey` replaces it when the identity is rotated). */
  signingKey(): CheckpointKey;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  maxFileBytes: number;
  logger: Logger;
  now?: () => number;
}

export interface AuditStats {
  /** Entries in the chain, all files together (the last entry's seq + 1). */
  chainLength: number;
  lastCheckpointSeq: number | undefined;
  entriesSinceCheckpoint: number;
  appendFailures: number;
  file: string;
  broken: boolean;
}

interface Pending {
  records: AuditRecord[];
  resolve(): void;
  reject(error: Error): void;
}

/** What opening found at the end of the chain. */
interface Tail {
  last: AuditEntry | undefined;
  sinceCheckpoint: number;
  lastCheckpointSeq: number | undefined;
}

export class AuditLog {
  private fd!: FileHandle;
  private fileNumber = 0;
  private fileName = '';
  private size = 0;
  private seq = -1;
  private lastHash = GENESIS;
  private sinceCheckpoint = 0;
  private lastCheckpointSeq: number | undefined;
  private appendFailures = 0;
  private broken: Error | undefined;
  private closed = false;
  private pending: Pending[] = [];
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private loop: Periodic | undefined;
  private key: CheckpointKey | undefined;
  private readonly now: () => number;

  private constructor(private readonly options: AuditLogOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Opens (or creates) the log in `options.dir`: takes the lock, drops a torn last line, checks the tail. */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(options);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    await acquireLock(options.dir);
    try {
      await log.recover();
    } catch (error) {
      // recover() may fail before it opened a file.
      await (log.fd as FileHandle | undefined)?.close().catch(() => undefined);
      await releaseLock(options.dir);
      throw error;
    }
    log.loop = periodic({
      name: 'audit checkpoint',
      intervalMs: options.checkpointIntervalMs,
      runAtStart: false,
      unref: true,
      logger: options.logger,
      tick: async () => {
        if (log.sinceCheckpoint > 0 && !log.closed)
          await log.checkpoint('interval').catch((err: unknown) => log.options.logger.error({ err }, 'audit checkpoint failed'));
      },
    });
    log.loop.start();
    return log;
  }

  get stats(): AuditStats {
    return {
      chainLength: this.seq + 1,
      lastCheckpointSeq: this.lastCheckpointSeq,
      entriesSinceCheckpoint: this.sinceCheckpoint,
      appendFailures: this.appendFailures,
      file: this.fileName,
      broken: this.broken !== undefined,
    };
  }

  /** Appends the records (in order, as one write with whatever else is pending) and resolves once they are synced. */
  append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new ParError('PAR_ERR_AUDIT_APPEND_FAILED', 'the audit log is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ records: [...records], resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        void this.exclusive(() => this.flushPending());
      }
    });
  }

  /** Appends a signed checkpoint now (when there is anything new since the last one). */
  checkpoint(reason: CheckpointRecord['reason']): Promise<void> {
    return this.exclusive(async () => {
      if (this.sinceCheckpoint > 0) await this.write([], reason);
    });
  }

  /**
   * The identity key was rotated: writes a `key-rotation` checkpoint signed by the current key and
   * by `next` (linking them for verify), then signs with `next` from here on.
   */
  handOverKey(next: CheckpointKey): Promise<void> {
    return this.exclusive(async () => {
      if (this.currentKey().kid === next.kid) return;
      await this.write([], 'key-rotation', next);
      this.key = next;
    });
  }

  private currentKey(): CheckpointKey {
    return this.key ?? this.options.signingKey();
  }

  /** Writes a final checkpoint, closes the file and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.loop?.stop();
    await this.exclusive(async () => {
      if (this.sinceCheckpoint > 0 && !this.broken) {
        await this.write([], 'close').catch((err: unknown) => this.options.logger.error({ err }, 'final audit checkpoint failed'));
      }
    });
    await this.fd.close().catch(() => undefined);
    await releaseLock(this.options.dir);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async flushPending(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending.splice(0);
    try {
      await this.write(
        batch.flatMap((p) => p.records),
        undefined,
      );
      for (const p of batch) p.resolve();
    } catch (error) {
      this.appendFailures += batch.length;
      const failure = error instanceof ParError ? error : new ParError('PAR_ERR_AUDIT_APPEND_FAILED', (error as Error).message);
      for (const p of batch) p.reject(failure);
    }
  }

  /** Seals the records (and a checkpoint when due or forced), writes them in one write, syncs. */
  private async write(
    records: readonly AuditRecord[],
    forced: CheckpointRecord['reason'] | undefined,
    nextKey?: CheckpointKey,
  ): Promise<void> {
    if (this.broken)
      throw new ParError(
        'PAR_ERR_AUDIT_APPEND_FAILED',
        `the audit log is unusable since an earlier failure (${this.broken.message}); restart the runner`,
      );
    if (records.length > 0 && this.size >= this.options.maxFileBytes) await this.rotate();
    const ts = this.now();
    const entries: AuditEntry[] = [];
    let seq = this.seq;
    let prev = this.lastHash;
    const add = (record: AuditRecord): AuditEntry => {
      seq += 1;
      const entry = sealEntry(record, seq, prev, ts);
      prev = entry.hash;
      entries.push(entry);
      return entry;
    };
    for (const record of records) add(record);
    const reason = forced ?? (this.sinceCheckpoint + records.length >= this.options.checkpointEvery ? 'count' : undefined);
    let checkpoint: AuditEntry | undefined;
    if (reason !== undefined) {
      const key = this.currentKey();
      const sealed = add({
        type: 'checkpoint',
        runnerId: this.options.runnerId,
        kid: key.kid,
        publicKeyX: key.publicKeyX,
        reason,
        ...(nextKey ? { nextKid: nextKey.kid, nextPublicKeyX: nextKey.publicKeyX } : {}),
      });
      checkpoint = signCheckpoint(sealed, key, nextKey);
      entries[entries.length - 1] = checkpoint;
    }
    await this.writeLines(entries);
    this.seq = seq;
    this.lastHash = prev;
    if (checkpoint) {
      this.sinceCheckpoint = 0;
      this.lastCheckpointSeq = checkpoint.seq;
      const signed = checkpoint as CheckpointRecord & AuditEntry;
      // The entry is on disk; a head that cannot be replaced only weakens truncation detection.
      // The head is signed by the key that signs from here on (a key-rotation checkpoint's next key).
      const headSig = nextKey ? signed.nextSig : signed.sig;
      if (headSig === undefined) throw new Error('audit log: a signed checkpoint has no signature');
      const headKey = nextKey ?? { kid: signed.kid, publicKeyX: signed.publicKeyX };
      await writeHead(this.options.dir, {
        seq: signed.seq,
        hash: signed.hash,
        file: this.fileName,
        kid: headKey.kid,
        publicKeyX: headKey.publicKeyX,
        sig: headSig,
      }).catch((err: unknown) => this.options.logger.error({ err }, 'audit-head.json could not be replaced'));
      this.options.logger.info({ auditSeq: checkpoint.seq, auditHash: checkpoint.hash, reason }, 'audit checkpoint signed');
    } else {
      this.sinceCheckpoint += records.length;
    }
  }

  /** One write of whole lines, then fdatasync; on a failed write the file is cut back to its last good size. */
  private async writeLines(entries: readonly AuditEntry[]): Promise<void> {
    const bytes = Buffer.from(entries.map((e) => `${entryLine(e)}\n`).join(''), 'utf8');
    try {
      let offset = 0;
      // O_APPEND: each write lands at the end. A short write (rare: full disk) continues the same line.
      while (offset < bytes.length) {
        const { bytesWritten } = await this.fd.write(bytes, offset, bytes.length - offset);
        if (bytesWritten === 0) throw new Error('write made no progress');
        offset += bytesWritten;
      }
    } catch (error) {
      try {
        await this.fd.truncate(this.size);
      } catch (truncateError) {
        this.broken = truncateError as Error;
      }
      throw new ParError('PAR_ERR_AUDIT_APPEND_FAILED', (error as Error).message, { cause: error });
    }
    try {
      await this.fd.datasync();
    } catch (error) {
      this.broken = error as Error;
      this.options.logger.error({ err: error }, 'audit log fdatasync failed: no further entries will be written');
      throw new ParError('PAR_ERR_AUDIT_APPEND_FAILED', `fdatasync: ${(error as Error).message}`, { cause: error });
    }
    this.size += bytes.length;
  }

  /** Ends the current file with a checkpoint and starts the next one, chained to it. */
  private async rotate(): Promise<void> {
    if (this.sinceCheckpoint > 0) await this.write([], 'rotation');
    const previous = this.fileName;
    await this.fd.close();
    await this.startFile(this.fileNumber + 1);
    this.options.logger.info({ previous, file: this.fileName, auditSeq: this.seq }, 'audit log rotated');
  }

  /** Creates file n (must not exist) and writes its `file` entry, chained to the current head. */
  private async startFile(n: number): Promise<void> {
    this.fileNumber = n;
    this.fileName = auditFileName(n);
    this.fd = await open(join(this.options.dir, this.fileName), 'ax', 0o600);
    this.size = 0;
    await syncDir(this.options.dir);
    await this.writeRecordsRaw([{ type: 'file', file: n, runnerId: this.options.runnerId }]);
  }

  /** Appends records without checkpoint logic (the `file` entry). */
  private async writeRecordsRaw(records: readonly AuditRecord[]): Promise<void> {
    const ts = this.now();
    let seq = this.seq;
    let prev = this.lastHash;
    const entries = records.map((r) => {
      seq += 1;
      const e = sealEntry(r, seq, prev, ts);
      prev = e.hash;
      return e;
    });
    await this.writeLines(entries);
    this.seq = seq;
    this.lastHash = prev;
    this.sinceCheckpoint += records.length;
  }

  private async recover(): Promise<void> {
    const { dir, logger } = this.options;
    const files = await listAuditFiles(dir);
    const head = await readHead(dir);
    if (head === 'invalid') throw new ParError('PAR_ERR_AUDIT_LOG_INVALID', `${join(dir, 'audit-head.json')} is not a checkpoint head`);
    // An empty newest file: a crash before its `file` entry reached the disk. Continue in the one before.
    let tail: Tail | undefined;
    for (let newest = files.at(-1); newest !== undefined; newest = files.at(-1)) {
      tail = await readTail(newest.path, logger);
      if (tail.last) break;
      files.pop();
      await rm(newest.path);
      tail = undefined;
    }
    const current = files.at(-1);
    if (!current || !tail) {
      if (head)
        throw new ParError('PAR_ERR_AUDIT_LOG_INVALID', `no log file left, but audit-head.json records a checkpoint at seq ${head.seq}`);
      await this.startFile(1);
    } else {
      this.adopt(tail);
      this.fileNumber = current.n;
      this.fileName = current.name;
      this.fd = await open(current.path, 'a', 0o600);
      this.size = (await this.fd.stat()).size;
    }
    if (head && head.seq > this.seq) {
      await this.fd.close();
      throw new ParError(
        'PAR_ERR_AUDIT_LOG_INVALID',
        `the log ends at seq ${this.seq}, before its last signed checkpoint at seq ${head.seq}: entries were removed`,
      );
    }
  }

  private adopt(tail: Tail): void {
    if (!tail.last) throw new Error('audit log: adopting a file without entries');
    this.seq = tail.last.seq;
    this.lastHash = tail.last.hash;
    this.sinceCheckpoint = tail.sinceCheckpoint;
    this.lastCheckpointSeq = tail.lastCheckpointSeq;
  }
}

/**
 * Reads a file's last entry: drops a torn final line (bytes after the last newline: a crash during
 * an append) by truncating the file, then checks that the last complete line is a sealed entry.
 */
async function readTail(path: string, logger: Logger): Promise<Tail> {
  const bytes = await readFile(path);
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) {
    const handle = await open(path, 'r+');
    try {
      await handle.truncate(end);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    logger.warn({ file: path, bytes: bytes.length - end }, 'audit log: dropped a torn last line (a crash during an append)');
  }
  const lines = bytes.subarray(0, end).toString('utf8').split('\n');
  lines.pop();
  const lastLine = lines.at(-1);
  if (lastLine === undefined) return { last: undefined, sinceCheckpoint: 0, lastCheckpointSeq: undefined };
  const last = parseSealed(lastLine);
  if (!last) {
    throw new ParError(
      'PAR_ERR_AUDIT_LOG_INVALID',
      `${path} line ${lines.length}: not a valid entry (edited?); run par audit verify, keep the file as evidence and move the audit dir away to start a new chain`,
    );
  }
  let sinceCheckpoint = 0;
  let lastCheckpointSeq: number | undefined;
  for (const line of [...lines].reverse()) {
    if (line.includes('"type":"checkpoint"')) {
      lastCheckpointSeq = parseSealed(line)?.seq;
      break;
    }
    sinceCheckpoint += 1;
  }
  return { last, sinceCheckpoint, lastCheckpointSeq };
}

function parseSealed(line: string): AuditEntry | undefined {
  try {
    const entry = JSON.parse(line) as AuditEntry | null;
    if (typeof entry !== 'object' || entry === null || typeof entry.seq !== 'number' || typeof entry.hash !== 'string') return undefined;
    if (entryLine(entry) !== line || entryHash(entry) !== entry.hash) return undefined;
    return entry;
  } catch {
    return undefined;
  }
}

/** Directories this process is writing (the pid in the lock file cannot tell two writers in one process apart). */
const openHere = new Set<string>();

async function acquireLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  if (openHere.has(resolve(dir))) throw new ParError('PAR_ERR_AUDIT_LOG_LOCKED', `${dir} (this process)`);
  await takeLockFile(path, dir);
  openHere.add(resolve(dir));
}

async function takeLockFile(path: string, dir: string): Promise<void> {
  try {
    await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
    throw new ParError('PAR_ERR_AUDIT_LOG_LOCKED', `${dir} (pid ${pid})`);
  }
  // A stale lock (its process is gone, or it is ours from a previous life in a container).
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
}

async function releaseLock(dir: string): Promise<void> {
  openHere.delete(resolve(dir));
  const path = join(dir, LOCK_FILE);
  const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (pid === process.pid) await rm(path, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
