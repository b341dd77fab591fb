import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunnerTokenCache } from '../../src/control-plane/auth/runner-token-cache.js';
import { generateSigningKeyPair, importSigningKey, type SigningKey } from '../../src/crypto/keys.js';
import { RUNNER_TOKEN_TTL_S, RunnerTokenMinter } from '../../src/crypto/runner-token.js';

async function keys(): Promise<{ priv: SigningKey; pub: SigningKey }> {
  const pair = await generateSigningKeyPair();
  return { priv: await importSigningKey(pair.privateJwk), pub: await importSigningKey(pair.publicJwk) };
}

test('a verified token is recognised for its runner and key until its exp, then no more', async () => {
  const k = await keys();
  const now = Date.now();
  const token = await new RunnerTokenMinter('r1', k.priv, () => now).token();
  const cache = new RunnerTokenCache();
  assert.equal(cache.get(token, 'r1', now, k.pub), undefined);
  cache.put(token, 'r1', k.pub, now);
  assert.equal(cache.get(token, 'r1', now, k.pub), 'current');
  // Another runner presenting the same string, or the same runner re-keyed: verify again.
  assert.equal(cache.get(token, 'r2', now, k.pub), undefined);
  cache.put(token, 'r1', k.pub, now);
  const other = await keys();
  assert.equal(cache.get(token, 'r1', now, other.pub), undefined);
  assert.equal(cache.size, 0);
  // Verified with what is now the previous key (rotation overlap): still recognised as `previous`.
  cache.put(token, 'r1', k.pub, now);
  assert.equal(cache.get(token, 'r1', now, other.pub, k.pub), 'previous');
  // Past exp: gone.
  assert.equal(cache.get(token, 'r1', now + (RUNNER_TOKEN_TTL_S + 1) * 1000, other.pub, k.pub), undefined);
});

test('expired or undecodable tokens are not stored, and the cache stays within its bound', async () => {
  const k = await keys();
  const now = Date.now();
  const cache = new RunnerTokenCache(3);
  const old = await new RunnerTokenMinter('r1', k.priv, () => now - (RUNNER_TOKEN_TTL_S + 5) * 1000).token();
  cache.put(old, 'r1', k.pub, now);
  cache.put('not-a-jwt', 'r1', k.pub, now);
  assert.equal(cache.size, 0);
  const tokens = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => new RunnerTokenMinter(id, k.priv, () => now).token()));
  tokens.forEach((t, i) => cache.put(t, ['a', 'b', 'c', 'd', 'e'][i]!, k.pub, now));
  assert.equal(cache.size, 3);
  // The oldest went first.
  assert.equal(cache.get(tokens[0]!, 'a', now, k.pub), undefined);
  assert.equal(cache.get(tokens[4]!, 'e', now, k.pub), 'current');
});
