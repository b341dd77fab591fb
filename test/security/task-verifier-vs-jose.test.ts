/**
 * The runner verifies tasks with node:crypto (src/crypto/ed25519-jwt.ts), no longer with jose's
 * jwtVerify. Same verdicts required: every token below, good or crafted, gets the same answer from
 * TaskVerifier as from jose's jwtVerify with the options and error mapping the verifier used before
 * (the oracle here), followed by the same claims schema. Signed with real Ed25519 keys; forged
 * headers, payloads and signatures built by hand.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { describe, test } from 'node:test';
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { TASK_ISSUER, TASK_TYP } from '../../src/contracts/runner-api.js';
import { taskClaimsSchema } from '../../src/contracts/task.js';
import { generateSigningKeyPair, importSigningKey, publicPart, type KeyPairJwk } from '../../src/crypto/keys.js';
import { TaskVerifier } from '../../src/crypto/task-signature.js';
import { ParError } from '../../src/errors/par-error.js';

const RUNNER = 'rnr_1';
const NOW_MS = Date.UTC(2026, 10, 28, 12, 0, 0);
const NOW_S = Math.floor(NOW_MS / 1000);

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A compact JWS over exactly these header and payload texts, signed with `k` (Ed25519). */
function rawSign(k: KeyPairJwk, header: unknown, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const key = createPrivateKey({ key: k.privateJwk as Parameters<typeof createPrivateKey>[0] & object, format: 'jwk' } as never);
  return `${input}.${cryptoSign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** What the verifier did before: its kid check, jose's jwtVerify, its errors mapped to our codes, then the claims schema. */
async function oracle(jws: string, keys: JWK[], checkExpiry: boolean): Promise<string> {
  // The verifier's own checks before jose: three parts, and a kid in the header.
  if (jws.split('.').length !== 3) return 'PAR_ERR_TASK_MALFORMED';
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch {
    kid = undefined;
  }
  if (typeof kid !== 'string') return 'PAR_ERR_TASK_SIGNATURE_INVALID';
  let payload: unknown;
  try {
    payload = (
      await jwtVerify(jws, createLocalJWKSet({ keys }), {
        issuer: TASK_ISSUER,
        audience: RUNNER,
        typ: TASK_TYP,
        algorithms: ['EdDSA'],
        currentDate: new Date(checkExpiry ? NOW_S * 1000 : 0),
      })
    ).payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return 'PAR_ERR_TASK_EXPIRED';
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'PAR_ERR_TASK_SIGNATURE_INVALID';
    if (error instanceof joseErrors.JWKSNoMatchingKey) return 'PAR_ERR_TASK_SIGNATURE_INVALID';
    if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'PAR_ERR_TASK_SIGNATURE_INVALID';
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      if (error.claim === 'aud' && error.reason === 'check_failed' && typeof error.payload['aud'] === 'string')
        return 'PAR_ERR_TASK_WRONG_RUNNER';
      if (error.claim === 'typ') return 'PAR_ERR_TASK_SIGNATURE_INVALID';
      return 'PAR_ERR_TASK_MALFORMED';
    }
    if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'PAR_ERR_TASK_SIGNATURE_INVALID';
    return 'PAR_ERR_TASK_MALFORMED';
  }
  return taskClaimsSchema.safeParse(payload).success ? 'ok' : 'PAR_ERR_TASK_MALFORMED';
}

async function ours(jws: string, keys: JWK[], checkExpiry: boolean): Promise<string> {
  try {
    await new TaskVerifier({ keys: keys as never }).verify(jws, { runnerId: RUNNER, checkExpiry, now: () => NOW_MS });
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof ParError, `a ParError, not ${String(error)}`);
    return error.code;
  }
}

describe('task verification: node:crypto gives jose verdicts', () => {
  test('every crafted token gets the same verdict, on the runner (expiry checked) and in workers (not)', async () => {
    const k = await generateSigningKeyPair();
    const other = await generateSigningKeyPair();
    const pub = (key: KeyPairJwk, extra: Record<string, unknown> = {}): JWK => ({ ...publicPart(key.publicJwk), kty: 'OKP', ...extra });
    const keys = [pub(k)];
    const header = { alg: 'EdDSA', kid: k.kid, typ: TASK_TYP };
    const claims = {
      iss: TASK_ISSUER,
      sub: 't1',
      aud: RUNNER,
      iat: NOW_S - 10,
      exp: NOW_S + 60,
      org: 'o1',
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: 'http://svc.internal/x' },
      timeoutMs: 1000,
    };
    const jose = await new SignJWT({ org: 'o1', action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 1000 })
      .setProtectedHeader(header)
      .setIssuer(TASK_ISSUER)
      .setSubject('t1')
      .setAudience(RUNNER)
      .setIssuedAt(NOW_S - 10)
      .setExpirationTime(NOW_S + 60)
      .sign(await importSigningKey(k.privateJwk));
    const good = rawSign(k, header, claims);
    const [h, p, s] = good.split('.') as [string, string, string];
    const flip = (t: string): string => (t[0] === 'A' ? 'B' : 'A') + t.slice(1);

    const cases: Array<[string, string, JWK[]?]> = [
      ['jose-signed', jose],
      ['hand-signed', good],
      ['expired', rawSign(k, header, { ...claims, exp: NOW_S - 1 })],
      ['expires this second', rawSign(k, header, { ...claims, exp: NOW_S })],
      ['exp a string', rawSign(k, header, { ...claims, exp: String(NOW_S + 60) })],
      ['no exp', rawSign(k, header, { ...claims, exp: undefined })],
      ['nbf ahead', rawSign(k, header, { ...claims, nbf: NOW_S + 30 })],
      ['nbf passed', rawSign(k, header, { ...claims, nbf: NOW_S - 30 })],
      ['nbf a string', rawSign(k, header, { ...claims, nbf: 'soon' })],
      ['iat a string', rawSign(k, header, { ...claims, iat: 'now' })],
      ['iat fractional', rawSign(k, header, { ...claims, iat: NOW_S + 0.5 })],
      ['other issuer', rawSign(k, header, { ...claims, iss: 'someone-else' })],
      ['no issuer', rawSign(k, header, { ...claims, iss: undefined })],
      ['other runner', rawSign(k, header, { ...claims, aud: 'rnr_2' })],
      ['no aud', rawSign(k, header, { ...claims, aud: undefined })],
      ['aud array with this runner', rawSign(k, header, { ...claims, aud: [RUNNER, 'rnr_2'] })],
      ['aud array without it', rawSign(k, header, { ...claims, aud: ['rnr_2'] })],
      ['aud a number', rawSign(k, header, { ...claims, aud: 7 })],
      ['typ of another JWS', rawSign(k, { ...header, typ: 'par-key-endorsement+jwt' }, claims)],
      ['typ JWT', rawSign(k, { ...header, typ: 'JWT' }, claims)],
      ['no typ', rawSign(k, { alg: 'EdDSA', kid: k.kid }, claims)],
      ['typ in capitals', rawSign(k, { ...header, typ: TASK_TYP.toUpperCase() }, claims)],
      ['typ with application/', rawSign(k, { ...header, typ: `application/${TASK_TYP}` }, claims)],
      ['typ a number', rawSign(k, { ...header, typ: 1 }, claims)],
      ['alg none', `${b64({ ...header, alg: 'none' })}.${p}.`],
      ['alg HS256', `${b64({ ...header, alg: 'HS256' })}.${p}.${s}`],
      ['alg Ed25519 (the newer name)', rawSign(k, { ...header, alg: 'Ed25519' }, claims)],
      ['no alg', rawSign(k, { kid: k.kid, typ: TASK_TYP }, claims)],
      ['unknown kid', rawSign(k, { ...header, kid: 'nobody' }, claims)],
      ['signed by another key under our kid', rawSign(other, header, claims)],
      ['payload changed after signing', `${h}.${b64({ ...claims, aud: RUNNER, action: 'com.datadoghq.script.run' })}.${s}`],
      ['signature changed', `${h}.${p}.${flip(s)}`],
      ['signature cut', `${h}.${p}.${s.slice(0, 20)}`],
      ['no signature', `${h}.${p}.`],
      ['crit header', rawSign(k, { ...header, crit: ['exp'], exp: 1 }, claims)],
      ['b64 false', rawSign(k, { ...header, b64: false, crit: ['b64'] }, claims)],
      ['header not JSON', `${b64('{nope')}.${p}.${s}`],
      ['header an array', rawSign(k, [header], claims)],
      ['payload not JSON', rawSign(k, header, 'not json')],
      ['payload an array', rawSign(k, header, [claims])],
      ['payload null', rawSign(k, header, null)],
      ['two parts', `${h}.${p}`],
      ['four parts', `${good}.${s}`],
      ['not base64url', `${h}.${p}!.${s}`],
      ['empty', ''],
      ['claims schema: no action', rawSign(k, header, { ...claims, action: undefined })],
      ['our key, marked for encryption', good, [pub(k, { use: 'enc' })]],
      ['our key, marked for signing', good, [pub(k, { use: 'sig' })]],
      ['our key, key_ops sign only', good, [pub(k, { key_ops: ['sign'] })]],
      ['our key, key_ops verify', good, [pub(k, { key_ops: ['verify'] })]],
      ['our key, alg RS256', good, [pub(k, { alg: 'RS256' })]],
      ['our key, alg EdDSA', good, [pub(k, { alg: 'EdDSA' })]],
      ['two keys under one kid, the second ours', good, [{ ...pub(other), kid: k.kid }, pub(k)]],
      [
        'two keys under one kid, neither ours',
        good,
        [
          { ...pub(other), kid: k.kid },
          { ...pub(other), kid: k.kid },
        ],
      ],
    ];
    const verdicts: string[] = [];
    for (const checkExpiry of [true, false]) {
      for (const [what, jws, keySet] of cases) {
        const expected = await oracle(jws, keySet ?? keys, checkExpiry);
        const got = await ours(jws, keySet ?? keys, checkExpiry);
        assert.equal(got, expected, `${what} (checkExpiry ${checkExpiry}): jose says ${expected}`);
        verdicts.push(got);
      }
    }
    // The corpus is not one-sided: it holds tokens of every verdict.
    for (const code of [
      'ok',
      'PAR_ERR_TASK_EXPIRED',
      'PAR_ERR_TASK_SIGNATURE_INVALID',
      'PAR_ERR_TASK_WRONG_RUNNER',
      'PAR_ERR_TASK_MALFORMED',
    ])
      assert.ok(verdicts.includes(code), `some token gets ${code}`);
  });
});
