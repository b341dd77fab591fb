// The runner's audit log: the chain, signed checkpoints, each kind of tampering detected by
// verify (edit, delete, reorder, truncate, forged checkpoint), a crash mid-append, rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { AuditLog, type AuditLogOptions } from '../../src/runner/audit/audit-log.js';
import { createRunnerMetrics } from '../../src/runner/metrics.js';
import {
  GENESIS,
  checkpointKeyFromJwk,
  entryHash,
  entryLine,
  okpThumbprint,
  sealEntry,
  signCheckpoint,
  type AuditEntry,
  type VerdictRecord,
} from '../../src/runner/audit/entry.js';
import { verifyAuditDir } from '../../src/runner/audit/verify.js';
import { lastLines } from '../../src/runner/audit/reader.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { ParError } from '../../src/errors/par-error.js';
import { tempDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const identity = await generateSigningKeyPair();
const key = checkpointKeyFromJwk(identity.privateJwk as never);
const trusted = [identity.publicJwk.x as string];

function verdict(i: number, extra: Partial<VerdictRecord> = {}): VerdictRecord {
  return {
    type: 'verdict',
    taskId: `task-${i}`,
    attempt: 1,
    verdict: 'accepted',
    claimsVerified: true,
    action: 'com.datadoghq.http.request',
    receivedAt: 1000 + i,
    verdictAt: 1001 + i,
    ...extra,
  };
}

async function withLog<T>(fn: (dir: string, open: (o?: Partial<AuditLogOptions>) => Promise<AuditLog>) => Promise<T>): Promise<T> {
  const tmp = await tempDir('audit');
  const dir = join(tmp.path, 'audit');
  const open = (o: Partial<AuditLogOptions> = {}): Promise<AuditLog> =>
    AuditLog.open({
      dir,
      runnerId: 'runner-1',
      signingKey: () => key,
      checkpointEvery: 4,
      checkpointIntervalMs: 3_600_000,
      maxFileBytes: 1 << 20,
      logger,
      ...o,
    });
  try {
    return await fn(dir, open);
  } finally {
    await tmp.remove();
  }
}

async function fileLines(dir: string, name = 'audit-000001.jsonl'): Promise<string[]> {
  const lines = (await readFile(join(dir, name), 'utf8')).split('\n');
  lines.pop(); // after the last newline: nothing, or a torn line
  return lines;
}

async function writeLines(dir: string, lines: string[], name = 'audit-000001.jsonl'): Promise<void> {
  await writeFile(join(dir, name), lines.map((l) => `${l}\n`).join(''));
}

/** A log of 10 verdicts (checkpoints after every 4 entries), closed. */
async function tenEntries(open: (o?: Partial<AuditLogOptions>) => Promise<AuditLog>): Promise<void> {
  const log = await open();
  for (let i = 0; i < 10; i += 1) await log.append([verdict(i)]);
  await log.close();
}

test('entries chain: each prev is the previous hash, seq counts from 0, lines are canonical; verify passes; the metric counts the chain', async () => {
  await withLog(async (dir, open) => {
    const log = await open();
    await Promise.all([
      log.append([verdict(0), verdict(1)]),
      log.append([verdict(2)]),
      log.append([verdict(3, { verdict: 'refused', code: 'PAR_ERR_ACTION_NOT_ALLOWLISTED' })]),
    ]);
    assert.equal(log.stats.chainLength, 1 + 4 + 1); // file entry, 4 verdicts, 1 count checkpoint
    assert.match(await createRunnerMetrics({ audit: log, defaultMetrics: false }).registry.metrics(), /^par_audit_chain_length 6$/m);
    await log.close();
    const lines = await fileLines(dir);
    let prev = GENESIS;
    for (const [i, line] of lines.entries()) {
      const e = JSON.parse(line) as AuditEntry;
      assert.equal(e.seq, i);
      assert.equal(e.prev, prev);
      assert.equal(entryHash(e), e.hash);
      assert.equal(entryLine(e), line);
      prev = e.hash;
    }
    assert.equal((JSON.parse(lines[0]!) as AuditEntry).type, 'file');
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, true, JSON.stringify(report.problem));
    assert.equal(report.entries, lines.length);
    assert.deepEqual(
      (await lastLines(dir, 2)).map((l) => (JSON.parse(l) as AuditEntry).seq),
      [lines.length - 2, lines.length - 1],
    );
  });
});

test('checkpoints: signed with the identity key (kid = its RFC 7638 thumbprint), by count and on close; the head file records the last one', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const entries = (await fileLines(dir)).map((l) => JSON.parse(l) as AuditEntry & { kid?: string; reason?: string });
    const checkpoints = entries.filter((e) => e.type === 'checkpoint');
    assert.deepEqual(
      checkpoints.map((c) => c.reason),
      ['count', 'count', 'close'],
    );
    assert.equal(checkpoints[0]!.kid, identity.kid);
    assert.equal(okpThumbprint(identity.publicJwk.x as string), identity.kid);
    const head = JSON.parse(await readFile(join(dir, 'audit-head.json'), 'utf8')) as { seq: number; hash: string };
    assert.equal(head.seq, entries.at(-1)!.seq);
    assert.equal(head.hash, entries.at(-1)!.hash);
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, true);
    assert.equal(report.checkpoints, 3);
    assert.equal(report.unsignedTail, 0);
    // The same log checked against another key fails at the first checkpoint.
    const other = await generateSigningKeyPair();
    const untrusted = await verifyAuditDir(dir, [other.publicJwk.x as string]);
    assert.equal(untrusted.ok, false);
    assert.equal(untrusted.problem?.seq, checkpoints[0]!.seq);
    assert.match(untrusted.problem.reason, /not trusted/);
  });
});

test('an interval checkpoint is written while entries arrive slower than the count', async () => {
  await withLog(async (dir, open) => {
    const log = await open({ checkpointEvery: 1000, checkpointIntervalMs: 50 });
    await log.append([verdict(0)]);
    await waitUntil(
      () => (log.stats.lastCheckpointSeq !== undefined && log.stats.entriesSinceCheckpoint === 0) || undefined,
      10_000,
      'an interval checkpoint',
    );
    assert.ok((await fileLines(dir)).some((l) => l.includes('"reason":"interval"')));
    await log.close();
    assert.equal((await verifyAuditDir(dir, trusted)).ok, true);
  });
});

test('tampering: an edited entry is named (hash mismatch)', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    const i = lines.findIndex((l) => l.includes('"taskId":"task-5"'));
    lines[i] = lines[i]!.replace('com.datadoghq.http.request', 'com.datadoghq.script.runPredefinedScript');
    await writeLines(dir, lines);
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, false);
    assert.deepEqual({ line: report.problem!.line, seq: report.problem!.seq }, { line: i + 1, seq: i });
    assert.match(report.problem!.reason, /edited/);
  });
});

test('tampering: an edit that recomputes the hash breaks the next entry; rewriting the whole rest cannot sign the next checkpoint', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    const i = lines.findIndex((l) => l.includes('"taskId":"task-1"'));
    const edited = JSON.parse(lines[i]!) as AuditEntry & { action: string };
    edited.action = 'com.datadoghq.script.runPredefinedScript';
    edited.hash = entryHash(edited);
    const rehashed = [...lines];
    rehashed[i] = entryLine(edited);
    await writeLines(dir, rehashed);
    let report = await verifyAuditDir(dir, trusted);
    assert.equal(report.problem?.seq, i + 1);
    assert.match(report.problem.reason, /does not chain/);

    // Re-chain everything after the edit (a forger without the key): the next checkpoint's signature fails.
    const rest: AuditEntry[] = [];
    let prev = edited.hash;
    for (const line of lines.slice(i + 1)) {
      const { hash: _h, ...e } = JSON.parse(line) as AuditEntry;
      const resealed = { ...e, prev, hash: '' };
      resealed.hash = entryHash(resealed);
      prev = resealed.hash;
      rest.push(resealed);
    }
    await writeLines(dir, [...lines.slice(0, i), entryLine(edited), ...rest.map(entryLine)]);
    report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, false);
    const firstCheckpoint = rest.find((e) => e.type === 'checkpoint')!;
    assert.equal(report.problem?.seq, firstCheckpoint.seq);
    assert.match(report.problem.reason, /signature does not verify/);
  });
});

test('tampering: a removed entry is named (the next seq skips)', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    const i = lines.findIndex((l) => l.includes('"taskId":"task-2"'));
    await writeLines(dir, [...lines.slice(0, i), ...lines.slice(i + 1)]);
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, false);
    assert.deepEqual({ line: report.problem!.line, seq: report.problem!.seq }, { line: i + 1, seq: i + 1 });
    assert.match(report.problem!.reason, /removed or entries were reordered/);
  });
});

test('tampering: reordered entries are named', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    const i = lines.findIndex((l) => l.includes('"taskId":"task-6"'));
    [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
    await writeLines(dir, lines);
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, false);
    assert.equal(report.problem!.line, i + 1);
    assert.equal(report.problem!.seq, i + 1);
  });
});

test('tampering: a log cut short below its signed head fails verify, and the runner refuses to continue it', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    await writeLines(dir, lines.slice(0, lines.length - 3));
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, false);
    assert.match(report.problem!.reason, /before the last signed checkpoint .*truncated/);
    await assert.rejects(
      open(),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUDIT_LOG_INVALID' && /entries were removed/.test(e.message),
    );
  });
});

test('tampering: a forged checkpoint (altered signature, or signed by another key) is named', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    const i = lines.findIndex((l) => l.includes('"type":"checkpoint"'));
    const cp = JSON.parse(lines[i]!) as AuditEntry;
    const sig = Buffer.from(cp.sig!, 'base64url');
    sig[0] = sig[0]! ^ 0xff;
    const altered = [...lines];
    altered[i] = entryLine({ ...cp, sig: sig.toString('base64url') });
    await writeLines(dir, altered);
    let report = await verifyAuditDir(dir, trusted);
    assert.deepEqual({ seq: report.problem?.seq, ok: report.ok }, { seq: i, ok: false });
    assert.match(report.problem!.reason, /forged/);

    // A checkpoint signed with the attacker's key that claims the runner's key id and x.
    const attacker = checkpointKeyFromJwk((await generateSigningKeyPair()).privateJwk as never);
    const resigned = signCheckpoint(cp, attacker);
    altered[i] = entryLine(resigned);
    await writeLines(dir, altered);
    report = await verifyAuditDir(dir, trusted);
    assert.equal(report.problem?.seq, i);
    assert.match(report.problem.reason, /forged/);

    // One that names the attacker's key honestly is refused as untrusted.
    const own = signCheckpoint(
      sealEntry(
        { type: 'checkpoint', runnerId: 'runner-1', kid: attacker.kid, publicKeyX: attacker.publicKeyX, reason: 'count' },
        cp.seq,
        cp.prev,
        cp.ts,
      ),
      attacker,
    );
    altered[i] = entryLine(own);
    await writeLines(dir, altered);
    report = await verifyAuditDir(dir, trusted);
    assert.equal(report.problem?.seq, i);
    assert.match(report.problem.reason, /not trusted/);
  });
});

test('crash mid-append: a writer killed (SIGKILL) while appending, plus a torn last line, loses at most that line; the chain verifies and appending continues', async () => {
  await withLog(async (dir, open) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../fixtures/audit-writer.ts', import.meta.url)), dir],
      {
        env: { ...process.env, AUDIT_KEY: JSON.stringify(identity.privateJwk) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('appending')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // The write the crash interrupted: the first bytes of a line, no newline.
    await appendFile(join(dir, 'audit-000001.jsonl'), '{"action":"com.datadoghq.http.request","attempt":1,"claimsVe');
    let report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, true, JSON.stringify(report.problem));
    assert.ok(report.tornTailBytes! > 0);
    const survived = report.entries;
    assert.ok(survived > 60);

    const reopened = await open(); // the dead writer's lock is stale
    assert.equal(reopened.stats.chainLength, survived);
    await reopened.append([verdict(100), verdict(101)]);
    await reopened.close();
    report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, true, JSON.stringify(report.problem));
    assert.equal(report.tornTailBytes, undefined);
    const entries = (await fileLines(dir)).map((l) => JSON.parse(l) as AuditEntry & { taskId?: string });
    assert.deepEqual(
      entries.map((e) => e.seq),
      entries.map((_e, i) => i),
    );
    assert.ok(entries.some((e) => e.taskId === 'task-101'));
    assert.equal(entries.at(-1)!.type, 'checkpoint');
  });
});

test('an edited last line is not a crash: verify names it and the runner refuses to start on it', async () => {
  await withLog(async (dir, open) => {
    await tenEntries(open);
    const lines = await fileLines(dir);
    lines[lines.length - 1] = lines.at(-1)!.replace('"reason":"close"', '"reason":"count"');
    await writeLines(dir, lines);
    assert.equal((await verifyAuditDir(dir, trusted)).problem?.line, lines.length);
    await assert.rejects(open(), (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUDIT_LOG_INVALID');
  });
});

test('rotation: files chain into one log (each starts with the previous last hash), verify spans them and notices a missing or edited file', async () => {
  await withLog(async (dir, open) => {
    const log = await open({ maxFileBytes: 1500, checkpointEvery: 1000 });
    for (let i = 0; i < 40; i += 1) await log.append([verdict(i)]);
    await log.close();
    const names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
    assert.ok(names.length >= 3, `rotated into ${names.length} files`);
    for (let f = 1; f < names.length; f += 1) {
      const previousLast = JSON.parse((await fileLines(dir, names[f - 1])).at(-1)!) as AuditEntry & { reason?: string };
      const first = JSON.parse((await fileLines(dir, names[f]))[0]!) as AuditEntry & { file?: number };
      assert.equal(previousLast.type, 'checkpoint');
      assert.equal(previousLast.reason, 'rotation');
      assert.equal(first.type, 'file');
      assert.equal(first.file, f + 1);
      assert.equal(first.prev, previousLast.hash);
    }
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.ok, true, JSON.stringify(report.problem));
    assert.equal(report.files.length, names.length);
    assert.equal(report.entries, log.stats.chainLength);

    // An edit in an older file is found there.
    const second = await fileLines(dir, names[1]);
    const edited = [...second];
    edited[2] = edited[2]!.replace('"attempt":1', '"attempt":2');
    await writeLines(dir, edited, names[1]);
    const bad = await verifyAuditDir(dir, trusted);
    assert.deepEqual({ file: bad.problem?.file, line: bad.problem?.line }, { file: names[1], line: 3 });
    await writeLines(dir, second, names[1]);

    // A torn line is a crash's mark only at the end of the newest file.
    await appendFile(join(dir, names[0]!), '{"seq":');
    const torn = await verifyAuditDir(dir, trusted);
    assert.equal(torn.problem?.file, names[0]);
    assert.match(torn.problem!.reason, /torn line in a file that is not the newest/);
    await writeLines(dir, await fileLines(dir, names[0]), names[0]);
    assert.equal((await verifyAuditDir(dir, trusted)).ok, true);

    // A removed middle file.
    await rm(join(dir, names[1]!));
    const gap = await verifyAuditDir(dir, trusted);
    assert.equal(gap.ok, false);
    assert.match(gap.problem!.reason, /missing/);
  });
});

test('one writer per directory: a second open in this process, or a live other process holding the lock, is refused', async () => {
  await withLog(async (dir, open) => {
    const first = await open();
    await assert.rejects(open(), (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUDIT_LOG_LOCKED');
    await first.close();
    await writeFile(join(dir, 'audit.lock'), `${process.ppid}\n`);
    await assert.rejects(open(), (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_AUDIT_LOG_LOCKED');
  });
});

test('identity key rotation: a key-rotation checkpoint signed by both keys links them; verify trusts either end, not a stranger, and catches a forged link', async () => {
  await withLog(async (dir, open) => {
    const log = await open({ checkpointEvery: 1000 });
    await log.append([verdict(0), verdict(1)]);
    const next = await generateSigningKeyPair();
    const nextKey = checkpointKeyFromJwk(next.privateJwk as never);
    await log.handOverKey(nextKey);
    await log.append([verdict(2)]);
    await log.close();
    const entries = (await fileLines(dir)).map((l) => JSON.parse(l) as AuditEntry & { kid?: string; reason?: string; nextKid?: string });
    const cps = entries.filter((e) => e.type === 'checkpoint');
    assert.deepEqual(
      cps.map((c) => [c.reason, c.kid]),
      [
        ['key-rotation', identity.kid],
        ['close', next.kid],
      ],
    );
    assert.equal(cps[0]!.nextKid, next.kid);
    assert.equal((await verifyAuditDir(dir, [next.publicJwk.x as string])).ok, true, 'the new key vouches for the old');
    assert.equal((await verifyAuditDir(dir, trusted)).ok, true, 'the old key vouches for the new');
    const stranger = await generateSigningKeyPair();
    assert.equal((await verifyAuditDir(dir, [stranger.publicJwk.x as string])).ok, false);

    // The link's second signature replaced by the attacker's: the link is gone and the check names it.
    const lines = await fileLines(dir);
    const i = lines.findIndex((l) => l.includes('"reason":"key-rotation"'));
    const link = JSON.parse(lines[i]!) as AuditEntry;
    const attacker = checkpointKeyFromJwk((await generateSigningKeyPair()).privateJwk as never);
    lines[i] = entryLine({ ...link, nextSig: signCheckpoint(link, attacker).sig! });
    await writeLines(dir, lines);
    const report = await verifyAuditDir(dir, trusted);
    assert.equal(report.problem?.seq, link.seq);
    assert.match(report.problem.reason, /not signed by its next key/);
  });
});
