/**
 * Where the audit log lives on disk: a directory (default `<config dir>/audit`, mode 0700) of
 * files `audit-000001.jsonl`, `audit-000002.jsonl`, ... (one JSON line per entry, mode 0600; the
 * highest number is the one being appended to) and `audit-head.json`, the last signed checkpoint
 * (seq, hash, signature), replaced atomically after each checkpoint is on disk. The head lets a
 * verifier (and the runner at start) notice a log cut short below its last checkpoint.
 */
import { readdir, readFile, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const HEAD_FILE = 'audit-head.json';
export const LOCK_FILE = 'audit.lock';
const FILE_PATTERN = /^audit-(\d{6,})\.jsonl$/;

export function auditFileName(n: number): string {
  return `audit-${String(n).padStart(6, '0')}.jsonl`;
}

/** The log's files, oldest first. */
export async function listAuditFiles(dir: string): Promise<Array<{ n: number; name: string; path: string }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .flatMap((name) => {
      const m = FILE_PATTERN.exec(name);
      return m ? [{ n: Number(m[1]), name, path: join(dir, name) }] : [];
    })
    .sort((a, b) => a.n - b.n);
}

export const headSchema = z.object({
  seq: z.number().int().nonnegative(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  file: z.string(),
  kid: z.string(),
  publicKeyX: z.string(),
  sig: z.string(),
});
export type AuditHead = z.infer<typeof headSchema>;

export async function readHead(dir: string): Promise<AuditHead | undefined | 'invalid'> {
  let text: string;
  try {
    text = await readFile(join(dir, HEAD_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = headSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'invalid';
  } catch {
    return 'invalid';
  }
}

/** Temp file + fsync + rename + directory fsync: the head is always a whole, durable file. */
export async function writeHead(dir: string, head: AuditHead): Promise<void> {
  const tmp = join(dir, `${HEAD_FILE}.${process.pid}.tmp`);
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(head)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, HEAD_FILE));
  await syncDir(dir);
}

/** Makes a created or renamed directory entry durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
