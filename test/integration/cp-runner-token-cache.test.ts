/**
 * Runner tokens are verified once per token on a control plane (RunnerAuthenticator's LRU of
 * verified tokens), on the real Redis: a token reused is not verified again, but a cached token
 * stops working at once when the runner is deleted (through any process: the per-call HMGET) or
 * re-keyed (its keyRotatedAt changes), and is verified again once past its exp.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RunnerAuthenticator } from '../../src/control-plane/auth/runner-auth.js';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { generateSigningKeyPair, importSigningKey, publicPart } from '../../src/crypto/keys.js';
import { RunnerTokenMinter, RUNNER_TOKEN_TTL_S } from '../../src/crypto/runner-token.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../helpers/redis.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });

const refusedWith =
  (code: string) =>
  (error: unknown): boolean => {
    assert.ok(error instanceof ParError, String(error));
    assert.equal(error.code, code);
    return true;
  };

describe('runner token verification cache', () => {
  const prefix = uniquePrefix('rt-cache');
  const ks = keySpace(prefix);
  let redis: Redis;

  before(() => {
    redis = connectRedis();
  });
  after(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  async function enrolledRunner(): Promise<{ runnerId: string; bearer: string }> {
    const runnerId = randomUUID();
    const pair = await generateSigningKeyPair();
    await redis.hset(ks.runner(runnerId), { id: runnerId, orgId: 'org-1', publicKey: JSON.stringify(publicPart(pair.publicJwk)) });
    const token = await new RunnerTokenMinter(runnerId, await importSigningKey(pair.privateJwk)).token();
    return { runnerId, bearer: `Bearer ${token}` };
  }

  test('a reused token is verified once; a tampered one is refused and never cached', async () => {
    const auth = new RunnerAuthenticator(redis, ks, logger);
    const { runnerId, bearer } = await enrolledRunner();
    for (let i = 0; i < 5; i++) assert.deepEqual(await auth.authenticate(bearer), { runnerId, orgId: 'org-1', keyUsed: 'current' });
    assert.equal(auth.signaturesVerified, 1);
    // A character well inside the signature: the last ones carry padding bits that decoders ignore.
    const at = bearer.length - 10;
    const tampered = `${bearer.slice(0, at)}${bearer[at] === 'A' ? 'B' : 'A'}${bearer.slice(at + 1)}`;
    await assert.rejects(auth.authenticate(tampered), refusedWith('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID'));
    await assert.rejects(auth.authenticate(tampered), refusedWith('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID'));
    assert.equal(auth.signaturesVerified, 3);
  });

  test('a cached token stops working at once when another process deletes the runner', async () => {
    const auth = new RunnerAuthenticator(redis, ks, logger);
    const { runnerId, bearer } = await enrolledRunner();
    await auth.authenticate(bearer);
    await auth.authenticate(bearer);
    await redis.del(ks.runner(runnerId));
    await assert.rejects(auth.authenticate(bearer), refusedWith('PAR_ERR_AUTH_RUNNER_UNKNOWN'));
  });

  test('a cached token stops working at once when the runner is re-keyed elsewhere', async () => {
    const auth = new RunnerAuthenticator(redis, ks, logger);
    const { runnerId, bearer } = await enrolledRunner();
    await auth.authenticate(bearer);
    // Another control-plane process rotates the key (no overlap): new publicKey + keyRotatedAt.
    const next = await generateSigningKeyPair();
    await redis.hset(ks.runner(runnerId), { publicKey: JSON.stringify(publicPart(next.publicJwk)), keyRotatedAt: String(Date.now()) });
    await assert.rejects(auth.authenticate(bearer), refusedWith('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID'));
  });

  test("forget (delete or re-key through this process) drops the runner's verified tokens", async () => {
    const auth = new RunnerAuthenticator(redis, ks, logger);
    const { runnerId, bearer } = await enrolledRunner();
    await auth.authenticate(bearer);
    auth.forget(runnerId);
    await auth.authenticate(bearer);
    assert.equal(auth.signaturesVerified, 2);
  });

  test('a token is verified again once past its exp', async () => {
    let now = Date.now();
    const auth = new RunnerAuthenticator(redis, ks, logger, () => now);
    const { bearer } = await enrolledRunner();
    await auth.authenticate(bearer);
    now += (RUNNER_TOKEN_TTL_S - 5) * 1000;
    await auth.authenticate(bearer);
    assert.equal(auth.signaturesVerified, 1, 'still inside its lifetime');
    now += 10_000;
    // jose (on the real clock) still accepts it: what matters is that the cache did not answer.
    await auth.authenticate(bearer);
    assert.equal(auth.signaturesVerified, 2, 'past exp: verified again');
  });
});
