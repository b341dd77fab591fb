/**
 * Verifying an audit directory (`par audit verify`): the whole chain across rotated files, every
 * checkpoint signature, and the signed head. The first problem found is named (file, line, seq)
 * and ends the walk: after a break, later entries cannot be trusted to mean anything.
 *
 * What each kind of tampering looks like here:
 * - an edited entry: its hash no longer matches its content (or its line is not the canonical
 *   form); an edit that also recomputes the hash breaks the next entry's `prev`, and a forger
 *   who rewrites every later hash still cannot sign the next checkpoint;
 * - a removed entry: the next entry's `seq` skips one;
 * - reordered entries: the first moved entry's `seq` (and `prev`) is out of place;
 * - a cut-off end: the log ends before the checkpoint recorded in `audit-head.json`;
 * - a forged checkpoint: its signature does not verify, or its key is not one the caller trusts.
 * Keys: the caller trusts some (the identity's current key); a `key-rotation` checkpoint signed by
 * both its key and its next key links the two, so trust in one extends to the other (either way
 * round: the current key vouches for the keys before it, an old key for the ones after).
 * A torn final line in the newest file is what a crash mid-append leaves: reported, not a failure.
 */
import { readFile } from 'node:fs/promises';
import { GENESIS, entryHash, entryLine, okpThumbprint, verifyCheckpointSignature, type AuditEntry } from './entry.js';
import { listAuditFiles, readHead } from './files.js';

export interface VerifyProblem {
  file: string;
  line?: number;
  seq?: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  files: string[];
  entries: number;
  checkpoints: number;
  lastCheckpointSeq?: number;
  /** Entries after the last checkpoint: chained, not yet signed. */
  unsignedTail: number;
  /** Bytes of a torn final line (a crash during an append); the runner drops them when it next starts. */
  tornTailBytes?: number;
  problem?: VerifyProblem;
}

/** `trustedKeys`: the Ed25519 public keys (`x`, base64url) checkpoints may be signed with. */
export async function verifyAuditDir(dir: string, trustedKeys: readonly string[]): Promise<VerifyReport> {
  const files = await listAuditFiles(dir);
  const trusted = await trustClosure(
    files.map((f) => f.path),
    trustedKeys,
  );
  const report: VerifyReport = { ok: false, files: files.map((f) => f.name), entries: 0, checkpoints: 0, unsignedTail: 0 };
  const fail = (problem: VerifyProblem): VerifyReport => ({ ...report, ok: false, problem });
  const newest = files.at(-1);
  if (newest === undefined) return fail({ file: dir, reason: 'no audit log files' });

  let expectedSeq = 0;
  let expectedPrev = GENESIS;
  const hashes = new Map<number, string>();
  for (const [index, file] of files.entries()) {
    const isLast = index === files.length - 1;
    const previous = index > 0 ? files[index - 1] : undefined;
    if (previous && file.n !== previous.n + 1) return fail({ file: file.name, line: 1, reason: `file ${previous.n + 1} is missing` });
    const bytes = await readFile(file.path);
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (end < bytes.length) {
      if (!isLast) return fail({ file: file.name, line: countLines(bytes, end) + 1, reason: 'torn line in a file that is not the newest' });
      report.tornTailBytes = bytes.length - end;
    }
    const lines = bytes.subarray(0, end).toString('utf8').split('\n');
    lines.pop();
    if (lines.length === 0) return fail({ file: file.name, line: 1, reason: 'empty file' });
    for (const [i, line] of lines.entries()) {
      const where = { file: file.name, line: i + 1 };
      let entry: AuditEntry | null;
      try {
        entry = JSON.parse(line) as AuditEntry | null;
      } catch {
        return fail({ ...where, reason: 'not JSON (edited or corrupted)' });
      }
      if (typeof entry !== 'object' || entry === null || typeof entry.hash !== 'string')
        return fail({ ...where, reason: 'not an audit entry' });
      const seq = typeof entry.seq === 'number' ? entry.seq : undefined;
      const at = { ...where, ...(seq !== undefined ? { seq } : {}) };
      let recomputed: string;
      try {
        recomputed = entryHash(entry);
        if (entryLine(entry) !== line) return fail({ ...at, reason: 'not in canonical form (edited)' });
      } catch (error) {
        return fail({ ...at, reason: `unreadable entry (${(error as Error).message})` });
      }
      if (recomputed !== entry.hash) return fail({ ...at, reason: 'content does not match its hash (edited)' });
      if (seq !== expectedSeq) {
        return fail({
          ...at,
          reason: `seq ${String(entry.seq)} where ${expectedSeq} was expected: an entry was removed or entries were reordered`,
        });
      }
      if (entry.prev !== expectedPrev) {
        return fail({
          ...at,
          reason: `does not chain to entry ${expectedSeq - 1}: that entry (or one before it) was removed, reordered or edited`,
        });
      }
      if (i === 0 && (entry.type !== 'file' || entry.file !== file.n))
        return fail({ ...at, reason: `the first entry of ${file.name} must be its file entry` });
      if (i > 0 && entry.type === 'file') return fail({ ...at, reason: 'a file entry inside a file' });
      if (entry.type === 'checkpoint') {
        if (typeof entry.sig !== 'string' || typeof entry.publicKeyX !== 'string')
          return fail({ ...at, reason: 'checkpoint without a signature' });
        if (!trusted.has(entry.publicKeyX))
          return fail({
            ...at,
            reason: `checkpoint signed by key ${entry.kid}, which is not trusted (give its public key with --trust-key)`,
          });
        if (okpThumbprint(entry.publicKeyX) !== entry.kid) return fail({ ...at, reason: 'checkpoint kid does not match its key' });
        if (!verifyCheckpointSignature(entry.hash, entry.sig, entry.publicKeyX))
          return fail({ ...at, reason: 'checkpoint signature does not verify (forged)' });
        if (entry.reason === 'key-rotation' || entry.nextPublicKeyX !== undefined || entry.nextSig !== undefined) {
          if (
            typeof entry.nextPublicKeyX !== 'string' ||
            typeof entry.nextSig !== 'string' ||
            okpThumbprint(entry.nextPublicKeyX) !== entry.nextKid ||
            !verifyCheckpointSignature(entry.hash, entry.nextSig, entry.nextPublicKeyX)
          ) {
            return fail({ ...at, reason: 'key-rotation checkpoint not signed by its next key (forged)' });
          }
        }
        report.checkpoints += 1;
        report.lastCheckpointSeq = seq;
        report.unsignedTail = 0;
      } else {
        if (entry.sig !== undefined || entry.nextSig !== undefined)
          return fail({ ...at, reason: 'a signature on an entry that is not a checkpoint' });
        report.unsignedTail += 1;
      }
      hashes.set(expectedSeq, entry.hash);
      report.entries += 1;
      expectedSeq += 1;
      expectedPrev = entry.hash;
    }
  }

  const head = await readHead(dir);
  if (head === 'invalid') return fail({ file: 'audit-head.json', reason: 'not a checkpoint head' });
  if (head) {
    if (!trusted.has(head.publicKeyX) || !verifyCheckpointSignature(head.hash, head.sig, head.publicKeyX)) {
      return fail({ file: 'audit-head.json', seq: head.seq, reason: 'head signature does not verify with a trusted key' });
    }
    const atHead = hashes.get(head.seq);
    if (atHead === undefined) {
      return fail({
        file: newest.name,
        seq: expectedSeq,
        reason: `the log ends at seq ${expectedSeq - 1}, before the last signed checkpoint at seq ${head.seq} (truncated)`,
      });
    }
    if (atHead !== head.hash) return fail({ file: head.file, seq: head.seq, reason: 'entry differs from the signed head (rewritten)' });
  }
  return { ...report, ok: true };
}

function countLines(bytes: Buffer, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i += 1) if (bytes[i] === 0x0a) n += 1;
  return n;
}

/**
 * The trusted keys plus every key linked to one of them by a key-rotation checkpoint whose two
 * signatures verify over its own (recomputed) hash. Nothing else about the chain is checked here.
 */
async function trustClosure(paths: readonly string[], anchors: readonly string[]): Promise<Set<string>> {
  const links: Array<[string, string]> = [];
  for (const path of paths) {
    const text = (await readFile(path)).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.includes('"nextSig"')) continue;
      try {
        const e = JSON.parse(line) as AuditEntry & { publicKeyX?: unknown; nextPublicKeyX?: unknown };
        if (
          e.type !== 'checkpoint' ||
          typeof e.publicKeyX !== 'string' ||
          typeof e.nextPublicKeyX !== 'string' ||
          typeof e.sig !== 'string' ||
          typeof e.nextSig !== 'string'
        )
          continue;
        if (entryHash(e) !== e.hash) continue;
        if (verifyCheckpointSignature(e.hash, e.sig, e.publicKeyX) && verifyCheckpointSignature(e.hash, e.nextSig, e.nextPublicKeyX))
          links.push([e.publicKeyX, e.nextPublicKeyX]);
      } catch {
        // the chain walk reports it
      }
    }
  }
  const trusted = new Set(anchors);
  for (let grew = true; grew;) {
    grew = false;
    for (const [a, b] of links) {
      if (trusted.has(a) !== trusted.has(b)) {
        trusted.add(a);
        trusted.add(b);
        grew = true;
      }
    }
  }
  return trusted;
}
