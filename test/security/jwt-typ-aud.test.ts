/**
 * `typ` and `aud` of the two JWTs the runner trusts or presents, checked by jose:
 * - a task must say typ = par-task+jwt and name this runner as aud, on the runner (expiry checked)
 *   and in workers (expiry not checked): another JWS the control-plane key signed (a key
 *   endorsement, or one without typ) is no task; wrong aud = PAR_ERR_TASK_WRONG_RUNNER, missing
 *   or non-string aud = PAR_ERR_TASK_MALFORMED;
 * - a runner request token must be for the control plane (aud) and, when it has a typ, say
 *   par-runner+jwt: an identity-rotation proof (same key, iss and aud) is not a request token.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { IDENTITY_PROOF_TYP } from '../../src/contracts/control-plane-keys.js';
import { RUNNER_TOKEN_AUDIENCE, RUNNER_TOKEN_TYP, TASK_ISSUER, TASK_TYP } from '../../src/contracts/runner-api.js';
import { ENDORSEMENT_TYP } from '../../src/crypto/key-endorsement.js';
import { generateSigningKeyPair, importSigningKey, publicPart, type KeyPairJwk } from '../../src/crypto/keys.js';
import { RunnerTokenMinter, peekRunnerId, verifyRunnerToken } from '../../src/crypto/runner-token.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';

const custom = { org: 'o1', action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 1000 };
const jwks = (k: KeyPairJwk) => ({ keys: [{ ...publicPart(k.publicJwk), kty: 'OKP' }] });

async function signTask(k: KeyPairJwk, header: { typ?: string }, aud: string | string[] | undefined): Promise<string> {
  const jwt = new SignJWT(custom)
    .setProtectedHeader({ alg: 'EdDSA', kid: k.kid, ...header })
    .setIssuer(TASK_ISSUER)
    .setSubject('t1')
    .setIssuedAt()
    .setExpirationTime('1m');
  if (aud !== undefined) jwt.setAudience(aud);
  return jwt.sign(await importSigningKey(k.privateJwk));
}

describe('signed tasks: typ and aud', () => {
  test('the signer sets typ and aud; a task for this runner verifies', async () => {
    const k = await generateSigningKeyPair();
    const jws = await new TaskSigner(await importSigningKey(k.privateJwk), k.kid).sign({ sub: 't1', aud: 'r1', ...custom }, 60_000);
    assert.equal(decodeProtectedHeader(jws).typ, TASK_TYP);
    const claims = await new TaskVerifier(jwks(k)).verify(jws, { runnerId: 'r1', checkExpiry: true });
    assert.equal(claims.aud, 'r1');
    assert.equal(
      (await new TaskVerifier(jwks(k)).verify(await signTask(k, { typ: TASK_TYP }, 'r1'), { runnerId: 'r1', checkExpiry: false })).sub,
      't1',
    );
  });

  for (const checkExpiry of [true, false]) {
    const where = checkExpiry ? 'runner' : 'worker';
    test(`${where}: a JWS with another typ, or none, is refused as PAR_ERR_TASK_SIGNATURE_INVALID`, async () => {
      const k = await generateSigningKeyPair();
      const verifier = new TaskVerifier(jwks(k));
      for (const header of [{ typ: ENDORSEMENT_TYP }, { typ: 'JWT' }, {}]) {
        await assert.rejects(
          verifier.verify(await signTask(k, header, 'r1'), { runnerId: 'r1', checkExpiry }),
          { code: 'PAR_ERR_TASK_SIGNATURE_INVALID' },
          JSON.stringify(header),
        );
      }
    });

    test(`${where}: wrong aud -> PAR_ERR_TASK_WRONG_RUNNER; missing or non-string aud -> PAR_ERR_TASK_MALFORMED`, async () => {
      const k = await generateSigningKeyPair();
      const verifier = new TaskVerifier(jwks(k));
      await assert.rejects(verifier.verify(await signTask(k, { typ: TASK_TYP }, 'r2'), { runnerId: 'r1', checkExpiry }), {
        code: 'PAR_ERR_TASK_WRONG_RUNNER',
      });
      await assert.rejects(verifier.verify(await signTask(k, { typ: TASK_TYP }, undefined), { runnerId: 'r1', checkExpiry }), {
        code: 'PAR_ERR_TASK_MALFORMED',
      });
      await assert.rejects(verifier.verify(await signTask(k, { typ: TASK_TYP }, ['r1', 'r2']), { runnerId: 'r1', checkExpiry }), {
        code: 'PAR_ERR_TASK_MALFORMED',
      });
    });
  }
});

describe('runner request tokens: typ and aud', () => {
  async function token(k: KeyPairJwk, header: { typ?: string }, aud: string | undefined, iss = 'r1'): Promise<string> {
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', ...header })
      .setIssuer(iss)
      .setIssuedAt()
      .setExpirationTime('1m');
    if (aud !== undefined) jwt.setAudience(aud);
    return jwt.sign(await importSigningKey(k.privateJwk));
  }

  test('the minter sets typ; its token verifies; peekRunnerId reads the issuer with jose', async () => {
    const k = await generateSigningKeyPair();
    const minted = await new RunnerTokenMinter('r1', await importSigningKey(k.privateJwk)).token();
    assert.equal(decodeProtectedHeader(minted).typ, RUNNER_TOKEN_TYP);
    await verifyRunnerToken(minted, 'r1', await importSigningKey(k.publicJwk));
    assert.equal(peekRunnerId(minted), 'r1');
    for (const junk of ['', 'a.b', 'not.a.jwt', 'a.b.c.d.e', `x.${Buffer.from('"r1"').toString('base64url')}.y`])
      assert.equal(peekRunnerId(junk), undefined, junk);
  });

  test('a token without typ (runners before the header) still verifies', async () => {
    const k = await generateSigningKeyPair();
    await verifyRunnerToken(await token(k, {}, RUNNER_TOKEN_AUDIENCE), 'r1', await importSigningKey(k.publicJwk));
  });

  test('an identity-rotation proof, another typ, a wrong or missing aud: PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', async () => {
    const k = await generateSigningKeyPair();
    const pub = await importSigningKey(k.publicJwk);
    const refused: [string, string][] = [
      ['identity proof', await token(k, { typ: IDENTITY_PROOF_TYP }, RUNNER_TOKEN_AUDIENCE)],
      ['typ JWT', await token(k, { typ: 'JWT' }, RUNNER_TOKEN_AUDIENCE)],
      ['wrong aud', await token(k, { typ: RUNNER_TOKEN_TYP }, 'someone-else')],
      ['missing aud', await token(k, { typ: RUNNER_TOKEN_TYP }, undefined)],
      ['missing aud, no typ', await token(k, {}, undefined)],
    ];
    for (const [what, jwt] of refused) {
      await assert.rejects(verifyRunnerToken(jwt, 'r1', pub), { code: 'PAR_ERR_AUTH_RUNNER_TOKEN_INVALID' }, what);
    }
  });
});
