/**
 * TaskVerifier under key rotation: a kid is required, a retired key counts until its notAfter
 * only, and an unknown kid asks for fresher keys once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { TASK_ISSUER } from '../../src/contracts/runner-api.js';
import { generateSigningKeyPair, importSigningKey, publicPart, type KeyPairJwk } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';

const claims = { sub: 't1', aud: 'r1', org: 'o1', action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 1000 };
const jwks = (...keys: KeyPairJwk[]) => ({ keys: keys.map((k) => ({ ...publicPart(k.publicJwk), kty: 'OKP' })) });
const sign = async (k: KeyPairJwk) => new TaskSigner(await importSigningKey(k.privateJwk), k.kid).sign(claims, 60_000);

describe('task verifier and key rotation', () => {
  test('a task without a kid is refused, even when its key is trusted', async () => {
    const k = await generateSigningKeyPair();
    const jws = await new SignJWT({ org: 'o1', action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 1000 })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(TASK_ISSUER)
      .setSubject('t1')
      .setAudience('r1')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(await importSigningKey(k.privateJwk));
    await assert.rejects(new TaskVerifier(jwks(k)).verify(jws, { runnerId: 'r1', checkExpiry: true }), {
      code: 'PAR_ERR_TASK_SIGNATURE_INVALID',
    });
  });

  test('a retired key verifies until its notAfter, then is refused with PAR_ERR_TASK_KEY_RETIRED (expiry check or not)', async () => {
    const old = await generateSigningKeyPair();
    const notAfter = Date.now() + 10_000;
    const verifier = new TaskVerifier(jwks(old), { retirements: { [old.kid]: { notAfter, successor: 'x' } } });
    const jws = await sign(old);
    assert.equal((await verifier.verify(jws, { runnerId: 'r1', checkExpiry: true })).sub, 't1');
    for (const checkExpiry of [true, false]) {
      await assert.rejects(verifier.verify(jws, { runnerId: 'r1', checkExpiry, now: () => notAfter + 1 }), {
        code: 'PAR_ERR_TASK_KEY_RETIRED',
      });
    }
  });

  test('an unknown kid asks for fresher keys and verifies with them; no fresher keys: refused', async () => {
    const old = await generateSigningKeyPair();
    const fresh = await generateSigningKeyPair();
    const asked: string[] = [];
    const verifier = new TaskVerifier(jwks(old), {
      refreshKeys: async (kid) => {
        asked.push(kid);
        return { keys: jwks(old, fresh) };
      },
    });
    assert.equal((await verifier.verify(await sign(fresh), { runnerId: 'r1', checkExpiry: true })).sub, 't1');
    assert.deepEqual(asked, [fresh.kid]);
    const stranger = await generateSigningKeyPair();
    const none = new TaskVerifier(jwks(old), { refreshKeys: async () => undefined });
    await assert.rejects(none.verify(await sign(stranger), { runnerId: 'r1', checkExpiry: true }), {
      code: 'PAR_ERR_TASK_SIGNATURE_INVALID',
    });
  });
});
