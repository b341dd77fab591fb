/**
 * Reading the audit log for `par audit tail`: the last N complete lines across rotated files, and
 * following new lines as they are appended (polling the newest file; a rotation moves on to the
 * next file). A torn final line is never shown. Lines come back as stored (JSON).
 */
import { open, readFile } from 'node:fs/promises';
import { auditFileName, listAuditFiles } from './files.js';

function completeLines(bytes: Buffer): string[] {
  const end = bytes.lastIndexOf(0x0a) + 1;
  const lines = bytes.subarray(0, end).toString('utf8').split('\n');
  lines.pop();
  return lines;
}

/** The last `n` complete lines of the log, oldest first. */
export async function lastLines(dir: string, n: number): Promise<string[]> {
  const files = await listAuditFiles(dir);
  const out: string[] = [];
  for (const file of [...files].reverse()) {
    if (out.length >= n) break;
    const lines = completeLines(await readFile(file.path));
    out.unshift(...lines.slice(Math.max(0, lines.length - (n - out.length))));
  }
  return out;
}

/** Calls `onLine` for every complete line appended from now on, until `signal` aborts. */
export async function followLines(dir: string, onLine: (line: string) => void, signal: AbortSignal, pollMs = 250): Promise<void> {
  const files = await listAuditFiles(dir);
  const newest = files.at(-1);
  let n = newest?.n ?? 1;
  let offset = newest ? completeLength(await readFile(newest.path)) : 0;
  while (!signal.aborted) {
    const path = `${dir}/${auditFileName(n)}`;
    const bytes = await readFrom(path, offset);
    const lines = completeLines(bytes);
    for (const line of lines) onLine(line);
    offset += completeLength(bytes);
    if (lines.length === 0) {
      // Nothing new here: has the log moved on to the next file?
      const next = await readFrom(`${dir}/${auditFileName(n + 1)}`, 0).catch(() => undefined);
      if (next !== undefined && next.length > 0) {
        n += 1;
        offset = 0;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

function completeLength(bytes: Buffer): number {
  return bytes.lastIndexOf(0x0a) + 1;
}

async function readFrom(path: string, offset: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return Buffer.alloc(0);
    const buffer = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
