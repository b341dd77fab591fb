/**
 * Verifies a compact Ed25519 JWT with node:crypto: one synchronous `verify` over a public
 * `KeyObject` made once per key, where jose's `jwtVerify` goes through WebCrypto (an async job and a
 * `CryptoKey` per call; about twice the CPU, measured in test/bench/jwt-verify-cost.ts).
 *
 * It checks what jose's `jwtVerify(jws, localJwkSet, { issuer, audience, typ, algorithms:
 * ['EdDSA'] })` checks, in the same order, and fails with the same kind of failure (`JwtFailure`,
 * which callers map to their own error codes, as they mapped jose's errors):
 *  1. three parts, the header and the signature base64url (the payload is covered by the
 *     signature as sent); the header a JSON object with a string `alg`; no `crit` or `b64` (we
 *     never sign with extensions; jose refuses those it does not know);
 *  2. `alg` must be EdDSA (`alg`);
 *  3. the key: the trusted key under the header's `kid` (`no-key` when none, `ambiguous-key` when
 *     more than one);
 *  4. the Ed25519 signature over `header.payload` as sent (`signature`);
 *  5. `typ`, compared as jose compares it (case-insensitive, `application/` dropped) (claim `typ`);
 *  6. the payload a JSON object (`malformed`); `iss` and `aud` present (`missing`), `iss` equal,
 *     `aud` equal or an array holding it (`check_failed`); then `iat` a number when present, `nbf`
 *     a number (`invalid`) not in the future (`check_failed`), `exp` a number not reached (`expired`).
 * The time is `nowS` (seconds); jose's default clock tolerance is 0, and so is this one.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export type JwtFailure =
  | { kind: 'malformed'; reason: string }
  | { kind: 'alg' }
  | { kind: 'no-key' }
  | { kind: 'ambiguous-key' }
  | { kind: 'signature' }
  | { kind: 'claim'; claim: string; reason: 'missing' | 'check_failed' | 'invalid'; payload: Record<string, unknown> }
  | { kind: 'expired' };

/** Thrown by `verifyEd25519Jwt`; `failure` says which check refused the token. */
export class JwtVerificationError extends Error {
  constructor(readonly failure: JwtFailure) {
    super(
      failure.kind === 'claim' ? `claim ${failure.claim}: ${failure.reason}` : failure.kind === 'malformed' ? failure.reason : failure.kind,
    );
  }
}

/** A public JWK as a key set holds it (only the fields the choice of key reads). */
export interface PublicJwk {
  kty?: unknown;
  crv?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  key_ops?: unknown;
  [k: string]: unknown;
}

/**
 * The trusted keys by kid, as jose's local JWK set would choose them for an EdDSA JWS: OKP
 * Ed25519 keys whose `alg` (if any) is EdDSA, whose `use` (if any) is `sig` and whose `key_ops`
 * (if any) allow `verify`. A key without a kid is never chosen (every task names its key).
 */
export function ed25519KeysByKid(keys: readonly PublicJwk[]): Map<string, KeyObject[]> {
  const byKid = new Map<string, KeyObject[]>();
  for (const jwk of keys) {
    if (typeof jwk.kid !== 'string' || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk['x'] !== 'string') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) continue;
    let key: KeyObject;
    try {
      // Only the public members: a JWK that also carries `d` must not turn into a private key here.
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk['x'] }, format: 'jwk' });
    } catch {
      continue;
    }
    const list = byKid.get(jwk.kid) ?? [];
    list.push(key);
    byKid.set(jwk.kid, list);
  }
  return byKid;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtVerificationError({ kind: 'malformed', reason: `${what} is not JSON` });
  }
  if (!isObject(value)) throw new JwtVerificationError({ kind: 'malformed', reason: `${what} is not a JSON object` });
  return value;
}

/** The protected header, decoded (no verification): for reading `kid` before choosing keys. */
export function jwtHeader(jws: string): Record<string, unknown> | undefined {
  const dot = jws.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    return decodeJson(jws.slice(0, dot), 'header');
  } catch {
    return undefined;
  }
}

const normalizeTyp = (typ: string): string => typ.toLowerCase().replace(/^application\//, '');

export interface Ed25519JwtExpectations {
  issuer: string;
  audience: string;
  typ: string;
  /** Seconds since the epoch; 0 accepts any `exp` (and refuses any `nbf` after 1970), as jose does with `currentDate: new Date(0)`. */
  nowS: number;
}

/** Verifies `jws` (see the file comment); returns its payload (the claims), or throws JwtVerificationError. */
export function verifyEd25519Jwt(
  jws: string,
  keysByKid: ReadonlyMap<string, readonly KeyObject[]>,
  expect: Ed25519JwtExpectations,
): Record<string, unknown> {
  const parts = jws.split('.');
  if (parts.length !== 3) throw new JwtVerificationError({ kind: 'malformed', reason: 'not a compact JWS' });
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  // The payload is checked by the signature, over its text as sent; the other two must be base64url.
  if (!BASE64URL.test(headerPart) || !BASE64URL.test(signaturePart))
    throw new JwtVerificationError({ kind: 'malformed', reason: 'not base64url' });
  const header = decodeJson(headerPart, 'header');
  if (typeof header['alg'] !== 'string') throw new JwtVerificationError({ kind: 'malformed', reason: 'no alg header' });
  if (header['crit'] !== undefined || header['b64'] !== undefined)
    throw new JwtVerificationError({ kind: 'malformed', reason: 'extension header parameters are not accepted' });
  if (header['alg'] !== 'EdDSA') throw new JwtVerificationError({ kind: 'alg' });
  const kid = header['kid'];
  const keys = typeof kid === 'string' ? keysByKid.get(kid) : undefined;
  if (!keys || keys.length === 0) throw new JwtVerificationError({ kind: 'no-key' });
  // As jose's key set: more than one key under the kid is refused, not tried in turn.
  const [key] = keys;
  if (keys.length > 1 || !key) throw new JwtVerificationError({ kind: 'ambiguous-key' });
  const signed = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
  const signature = Buffer.from(signaturePart, 'base64url');
  if (!verify(null, signed, key, signature)) throw new JwtVerificationError({ kind: 'signature' });

  const typ = header['typ'];
  if (typeof typ !== 'string' || normalizeTyp(typ) !== normalizeTyp(expect.typ))
    throw new JwtVerificationError({ kind: 'claim', claim: 'typ', reason: 'check_failed', payload: {} });
  const payload = decodeJson(payloadPart, 'payload');
  const claimFailure = (claim: string, reason: 'missing' | 'check_failed' | 'invalid'): JwtVerificationError =>
    new JwtVerificationError({ kind: 'claim', claim, reason, payload });
  for (const claim of ['iss', 'aud'] as const) if (payload[claim] === undefined) throw claimFailure(claim, 'missing');
  if (payload['iss'] !== expect.issuer) throw claimFailure('iss', 'check_failed');
  const aud = payload['aud'];
  if (!(aud === expect.audience || (Array.isArray(aud) && aud.includes(expect.audience)))) throw claimFailure('aud', 'check_failed');
  const { iat, nbf, exp } = payload;
  if (iat !== undefined && typeof iat !== 'number') throw claimFailure('iat', 'invalid');
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') throw claimFailure('nbf', 'invalid');
    if (nbf > expect.nowS) throw claimFailure('nbf', 'check_failed');
  }
  if (exp !== undefined) {
    if (typeof exp !== 'number') throw claimFailure('exp', 'invalid');
    if (exp <= expect.nowS) throw new JwtVerificationError({ kind: 'expired' });
  }
  return payload;
}
