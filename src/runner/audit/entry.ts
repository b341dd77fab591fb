/**
 * Audit entries: what one line of the audit log holds, and how an entry is chained and signed.
 *
 * Every entry has `v` (format), `seq` (position in the whole chain, across rotated files, from 0),
 * `ts` (ms when written), `type`, `prev` (the previous entry's `hash`; GENESIS for the first) and
 * `hash` = SHA-256 (hex) of the canonical JSON of the entry without `hash` and `sig`. A checkpoint
 * also carries `sig`: the runner identity key's Ed25519 signature over CHECKPOINT_CONTEXT + its
 * own `hash`, i.e. over the whole chain up to and including itself. When the identity key is
 * rotated, a `key-rotation` checkpoint names the next key and is signed by both (`sig`, `nextSig`),
 * so trust in either key carries over to the other. Entries never hold task
 * inputs, outputs, error messages or anything from a credential file: only identifiers, codes and
 * times.
 */
import { createPrivateKey, createPublicKey, createHash, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, sha256Hex, type CanonicalValue } from './canonical.js';

export const AUDIT_FORMAT = 1;
export const GENESIS = '0'.repeat(64);
export const CHECKPOINT_CONTEXT = 'par-audit-checkpoint-v1:';

/** First line of every file: links the file to the previous file's last entry. */
export interface FileRecord {
  type: 'file';
  /** Number of this file (1, 2, ...), as in its name. */
  file: number;
  runnerId: string;
}

/** The runner's verdict on one delivery. */
export interface VerdictRecord {
  type: 'verdict';
  taskId: string;
  /** The control plane's delivery attempt. */
  attempt: number;
  verdict: 'accepted' | 'refused';
  /** Refused: the error code. */
  code?: string;
  /** False when the signature (or the claims) did not verify: the fields below are what the task claimed. */
  claimsVerified: boolean;
  action?: string;
  orgId?: string;
  connectionId?: string;
  /** `user:<id>` / `service_account:<id>` from the signed `submittedBy` claim. */
  submittedBy?: string;
  /** The `kid` of the control-plane key that signed the task. */
  keyId?: string;
  receivedAt: number;
  verdictAt: number;
}

/** What became of an accepted or refused task: its outcome and how its publication ended. */
export interface OutcomeRecord {
  type: 'outcome';
  taskId: string;
  /** succeeded | failed | timedOut | cancelled | rejected */
  outcome: string;
  /** The outcome's error code, when it has one. */
  code?: string;
  attempts: number;
  durationMs: number;
  /** recorded | duplicate (the control plane has it) | dropped (another delivery owns it) | failed (refused for good). */
  published: 'recorded' | 'duplicate' | 'dropped' | 'failed';
  /** The control plane's refusal code for dropped / failed. */
  publishCode?: string;
  publishedAt: number;
}

export interface CheckpointRecord {
  type: 'checkpoint';
  runnerId: string;
  /** RFC 7638 thumbprint of the signing public key. */
  kid: string;
  /** The signing public key's `x` (Ed25519, base64url), so a checkpoint names exactly what signed it. */
  publicKeyX: string;
  /** Why it was written: count, interval, rotation (of the file), close, key-rotation (of the identity key). */
  reason: 'count' | 'interval' | 'rotation' | 'close' | 'key-rotation';
  /** key-rotation: the key that signs from here on; it also signs this checkpoint (`nextSig`). */
  nextKid?: string;
  nextPublicKeyX?: string;
}

export type AuditRecord = FileRecord | VerdictRecord | OutcomeRecord | CheckpointRecord;

export type AuditEntry = AuditRecord & { v: number; seq: number; ts: number; prev: string; hash: string; sig?: string; nextSig?: string };

/** Hash of an entry: SHA-256 of its canonical JSON without `hash`, `sig` and `nextSig`. */
export function entryHash(entry: Omit<AuditEntry, 'hash' | 'sig'> & { hash?: string; sig?: string; nextSig?: string }): string {
  const { hash: _hash, sig: _sig, nextSig: _nextSig, ...rest } = entry;
  return sha256Hex(canonicalJson(rest));
}

/** The stored line of an entry (without the newline). */
export function entryLine(entry: AuditEntry): string {
  return canonicalJson(entry as unknown as CanonicalValue);
}

export function sealEntry(record: AuditRecord, seq: number, prev: string, ts: number): AuditEntry {
  const unsealed = { ...record, v: AUDIT_FORMAT, seq, ts, prev } as Omit<AuditEntry, 'hash'>;
  return { ...unsealed, hash: entryHash(unsealed) } as AuditEntry;
}

/** The signing half of the runner identity key, for checkpoints. */
export interface CheckpointKey {
  privateKey: KeyObject;
  kid: string;
  publicKeyX: string;
}

export interface Ed25519Jwk {
  kty: string;
  crv?: string;
  x?: string;
  d?: string;
  [key: string]: unknown;
}

/** RFC 7638 thumbprint of an OKP public key. */
export function okpThumbprint(x: string): string {
  return createHash('sha256')
    .update(canonicalJson({ crv: 'Ed25519', kty: 'OKP', x }), 'utf8')
    .digest('base64url');
}

export function checkpointKeyFromJwk(privateJwk: Ed25519Jwk): CheckpointKey {
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || typeof privateJwk.x !== 'string' || typeof privateJwk.d !== 'string') {
    throw new TypeError('the runner identity key is not an Ed25519 private JWK');
  }
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, d: privateJwk.d }, format: 'jwk' });
  return { privateKey, kid: okpThumbprint(privateJwk.x), publicKeyX: privateJwk.x };
}

export function signCheckpoint(entry: AuditEntry, key: CheckpointKey, next?: CheckpointKey): AuditEntry {
  const signWith = (k: CheckpointKey): string =>
    sign(null, Buffer.from(CHECKPOINT_CONTEXT + entry.hash, 'utf8'), k.privateKey).toString('base64url');
  return { ...entry, sig: signWith(key), ...(next ? { nextSig: signWith(next) } : {}) };
}

export function verifyCheckpointSignature(hash: string, sig: string, publicKeyX: string): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKeyX }, format: 'jwk' });
    return verify(null, Buffer.from(CHECKPOINT_CONTEXT + hash, 'utf8'), key, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}
