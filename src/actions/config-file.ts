/**
 * The one way a worker reads a file named by a task: a connection's credential file, a
 * kubeconfig, a script connection's config (and the operator's own script config).
 *
 * The path comes from the signed task, so from whoever may edit a connection; the file system
 * is the runner's. Two rules, one place:
 *
 *  - Paths stay inside the config dir (when `confine` is set): an absolute path or a `..`
 *    segment is refused outright; the real path (after symlinks) must stay inside the config
 *    dir's real path, so a symlink inside the dir that points inside it is fine and one that
 *    leaves it is refused. -> PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR.
 *  - Files are files: opened with O_NONBLOCK (a FIFO with no writer does not block the open),
 *    the *handle* is fstat-ed and anything but a regular file is refused before a byte is read
 *    (FIFO, /dev/zero, directory, socket) -> PAR_ERR_FILE_NOT_REGULAR; at most `maxBytes` are read,
 *    whatever fstat said (a file that grows) -> PAR_ERR_FILE_TOO_LARGE; the whole read is
 *    asynchronous and bounded by `timeoutMs` (-> PAR_ERR_FILE_READ_TIMEOUT) and the caller's
 *    AbortSignal (-> PAR_ERR_TASK_CANCELLED; the lifecycle reports timedOut / cancelled), so a stuck file system stalls neither the task nor the worker.
 *
 * Other failures (no such file, no permission) keep the caller's own code (`failCode`), so each
 * reader still says which kind of file was missing. Errors name the path as the task gave it,
 * never the contents.
 */
import { constants } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ErrorCode } from '../errors/codes.js';
import { ParError } from '../errors/par-error.js';

/** Every config-dir file the worker reads is small; 1 MiB is generous. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
/** A local file that takes longer than this to read is stuck (NFS, FUSE), not slow. */
export const CONFIG_FILE_READ_TIMEOUT_MS = 5000;

export interface ReadConfigFileOptions {
  /** The runner's config dir. */
  readonly configDir: string;
  /** The path as given: relative to the config dir (absolute only when not confined). */
  readonly path: string;
  /** Paths from a task are confined to the config dir; the operator's own settings are not. */
  readonly confine: boolean;
  /** The code for ordinary failures (missing, unreadable): the reader's own. */
  readonly failCode: ErrorCode;
  /** How errors name the file (default: the path as given). */
  readonly label?: string;
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface ConfigFile {
  /** The real path that was read (after symlinks). */
  readonly realPath: string;
  /** Changes when the file does (inode, size, mtime): a cache key. */
  readonly version: string;
  readonly text: string;
}

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Checks the path rule without touching the file system: not absolute, no `..` segment, and
 * inside the config dir once joined. Returns the joined path.
 */
export function confinedPath(configDir: string, path: string, label = path): string {
  const outside = (why: string) => new ParError('PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', `${label}: ${why}`);
  if (path.includes('\0')) throw outside('contains a NUL byte');
  if (isAbsolute(path)) throw outside('absolute paths are not accepted, give a path relative to the config dir');
  if (path.split(/[\\/]+/).includes('..')) throw outside('".." segments are not accepted');
  const root = resolve(configDir);
  const candidate = resolve(root, path);
  if (!inside(root, candidate)) throw outside('outside the config dir');
  return candidate;
}

/** Resolves symlinks and checks the real path is still inside the config dir's real path. */
async function realConfinedPath(configDir: string, candidate: string, label: string, failCode: ErrorCode): Promise<string> {
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(candidate), realpath(resolve(configDir))]);
  } catch (error) {
    throw failed(failCode, label, error);
  }
  if (!inside(realRoot, real))
    throw new ParError('PAR_ERR_FILE_PATH_OUTSIDE_CONFIG_DIR', `${label}: leads outside the config dir (symlink)`);
  return real;
}

function failed(code: ErrorCode, label: string, error: unknown): ParError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  return new ParError(code, `${label}: ${errno === 'ENOENT' ? 'no such file' : (errno ?? 'unreadable')}`);
}

async function readCapped(handle: FileHandle, maxBytes: number, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buffer = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    total += bytesRead;
    if (total > maxBytes) throw new ParError('PAR_ERR_FILE_TOO_LARGE', `${label}: larger than ${maxBytes} bytes`);
    chunks.push(buffer.subarray(0, bytesRead));
  }
  return Buffer.concat(chunks, total);
}

async function openAndRead(
  path: string,
  label: string,
  maxBytes: number,
  failCode: ErrorCode,
  onHandle: (h: FileHandle) => void,
): Promise<{ version: string; text: string }> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw failed(failCode, label, error);
  }
  onHandle(handle);
  try {
    const s = await handle.stat();
    if (!s.isFile()) {
      const kind = s.isFIFO()
        ? 'a FIFO'
        : s.isDirectory()
          ? 'a directory'
          : s.isCharacterDevice() || s.isBlockDevice()
            ? 'a device'
            : s.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw new ParError('PAR_ERR_FILE_NOT_REGULAR', `${label}: ${kind}`);
    }
    if (s.size > maxBytes) throw new ParError('PAR_ERR_FILE_TOO_LARGE', `${label}: larger than ${maxBytes} bytes`);
    const bytes = await readCapped(handle, maxBytes, label);
    return { version: `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`, text: bytes.toString('utf8') };
  } catch (error) {
    if (error instanceof ParError) throw error;
    throw failed(failCode, label, error);
  }
}

/** Reads one config-dir file under the rules above. */
export async function readConfigFile(options: ReadConfigFileOptions): Promise<ConfigFile> {
  const label = options.label ?? options.path;
  const maxBytes = options.maxBytes ?? MAX_CONFIG_FILE_BYTES;
  const timeoutMs = options.timeoutMs ?? CONFIG_FILE_READ_TIMEOUT_MS;
  const { signal } = options;
  if (signal?.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', `${label}: the task ended before the file was read`);

  let handle: FileHandle | undefined;
  let abandoned = false;
  const work = (async () => {
    const candidate = options.confine ? confinedPath(options.configDir, options.path, label) : resolve(options.configDir, options.path);
    const realPath = options.confine ? await realConfinedPath(options.configDir, candidate, label, options.failCode) : candidate;
    const read = await openAndRead(realPath, label, maxBytes, options.failCode, (h) => {
      handle = h;
      // Abandoned by the deadline while the open was in flight: close as soon as it lands.
      if (abandoned) void h.close().catch(() => {});
    });
    return { realPath, ...read };
  })();

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ParError('PAR_ERR_FILE_READ_TIMEOUT', `${label}: not read within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    onAbort = () => reject(new ParError('PAR_ERR_TASK_CANCELLED', `${label}: the task ended before the file was read`));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const file = await Promise.race([work, deadline]);
    await handle?.close().catch(() => {});
    return file;
  } catch (error) {
    abandoned = true;
    // The abandoned read settles later; nobody listens any more. close() waits for a pending
    // read, so it is not awaited here.
    work.catch(() => {});
    if (handle) void handle.close().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
