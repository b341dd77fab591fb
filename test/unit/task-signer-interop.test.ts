/**
 * The task signer writes the compact JWS with node:crypto (Ed25519 KeyObject), not jose: its
 * tokens must be byte for byte what jose's SignJWT writes for the same claims and time, verify
 * with jose (TaskVerifier), and a jose-signed task must verify the same way. Tampering fails.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, jwtVerify, importJWK } from 'jose';
import { TASK_ISSUER, TASK_TYP } from '../../src/contracts/runner-api.js';
import { generateSigningKeyPair, importSigningKey, publicPart, SIGNING_ALG } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier, type UnsignedTaskClaims } from '../../src/crypto/task-signature.js';
import { ParError } from '../../src/errors/par-error.js';

const claims: UnsignedTaskClaims = {
  sub: '6f1c2b9e-0000-4000-8000-000000000001',
  aud: 'runner-1',
  org: 'org-1',
  action: 'com.datadoghq.http.request',
  inputs: { verb: 'GET', url: 'https://example.invalid/a?b=c', headers: { 'x-ü': 'snow ☃' }, n: 1.5, list: [true, null] },
  connection: { id: 'conn-1', integration: 'http' },
  timeoutMs: 30_000,
};

async function joseSign(
  privateJwk: Parameters<typeof importSigningKey>[0],
  kid: string,
  c: UnsignedTaskClaims,
  ttlMs: number,
  nowMs: number,
): Promise<string> {
  const { sub, aud, ...custom } = c;
  return new SignJWT(custom)
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: TASK_TYP })
    .setIssuer(TASK_ISSUER)
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setExpirationTime(Math.ceil((nowMs + ttlMs) / 1000))
    .sign(await importSigningKey(privateJwk));
}

describe('task signing with node:crypto', () => {
  test('byte-identical to jose SignJWT for the same claims and time', async () => {
    const k = await generateSigningKeyPair();
    const signer = new TaskSigner(await importSigningKey(k.privateJwk), k.kid);
    for (const nowMs of [1_700_000_000_123, Date.now()]) {
      assert.equal(await signer.sign(claims, 60_000, nowMs), await joseSign(k.privateJwk, k.kid, claims, 60_000, nowMs));
    }
  });

  test('both ways verify with jose (TaskVerifier and jwtVerify); tampering is refused', async () => {
    const k = await generateSigningKeyPair();
    const verifier = new TaskVerifier({ keys: [{ ...publicPart(k.publicJwk), kty: 'OKP' }] });
    const ours = await new TaskSigner(await importSigningKey(k.privateJwk), k.kid).sign(claims, 60_000);
    const theirs = await joseSign(k.privateJwk, k.kid, claims, 60_000, Date.now());
    for (const jws of [ours, theirs]) {
      const verified = await verifier.verify(jws, { runnerId: 'runner-1', taskId: claims.sub, checkExpiry: true });
      assert.deepEqual(verified.inputs, claims.inputs);
      assert.equal(verified.iss, TASK_ISSUER);
    }
    const { payload, protectedHeader } = await jwtVerify(ours, await importJWK(publicPart(k.publicJwk), SIGNING_ALG), {
      issuer: TASK_ISSUER,
      audience: 'runner-1',
      typ: TASK_TYP,
    });
    assert.equal(protectedHeader.kid, k.kid);
    assert.equal(payload.sub, claims.sub);

    const [h, p, s] = ours.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString('utf8')), action: 'com.datadoghq.script.runPredefinedScript' }),
    ).toString('base64url');
    await assert.rejects(
      verifier.verify(`${h}.${forgedPayload}.${s}`, { runnerId: 'runner-1', checkExpiry: true }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_TASK_SIGNATURE_INVALID',
    );
  });

  test('a public key cannot sign', async () => {
    const k = await generateSigningKeyPair();
    const publicKey = await importSigningKey(publicPart(k.publicJwk));
    assert.throws(() => new TaskSigner(publicKey, k.kid), /Ed25519 private key/);
  });
});
