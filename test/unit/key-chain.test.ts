/**
 * The runner's key-chain walk (src/crypto/key-chain.ts): which keys of a key answer a runner may
 * trust, from the keys it already trusts. Pure function, real Ed25519 keys and endorsements.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyAnswer, KeyAnswerEntry } from '../../src/contracts/control-plane-keys.js';
import { signEndorsement } from '../../src/crypto/key-endorsement.js';
import { applyKeyAnswer, type TrustedKeys } from '../../src/crypto/key-chain.js';
import { generateSigningKeyPair, importSigningKey, publicPart, type KeyPairJwk } from '../../src/crypto/keys.js';

async function successor(prev: KeyPairJwk, notAfter = 1_000): Promise<{ key: KeyPairJwk; entry: KeyAnswerEntry }> {
  const key = await generateSigningKeyPair();
  const endorsement = await signEndorsement(await importSigningKey(prev.privateJwk), prev.kid, key, notAfter, Date.now());
  return { key, entry: { kid: key.kid, jwk: { ...publicPart(key.publicJwk), kty: 'OKP' }, status: 'active', createdAt: 1, endorsement } };
}

function entryOf(key: KeyPairJwk): KeyAnswerEntry {
  return { kid: key.kid, jwk: { ...publicPart(key.publicJwk), kty: 'OKP' }, status: 'retired', createdAt: 0 };
}

function trusting(...keys: KeyPairJwk[]): TrustedKeys {
  return { keys: { keys: keys.map((k) => ({ ...publicPart(k.publicJwk), kty: 'OKP' })) }, retirements: {} };
}

describe('key chain', () => {
  test('walks several rotations from the pinned key and records each retirement', async () => {
    const k0 = await generateSigningKeyPair();
    const k1 = await successor(k0, 111);
    const k2 = await successor(k1.key, 222);
    // Newest first: the walk must not depend on order.
    const answer: KeyAnswer = { active: k2.key.kid, keys: [k2.entry, k1.entry, entryOf(k0)] };
    const update = await applyKeyAnswer(trusting(k0), answer);
    assert.deepEqual(new Set(update.added), new Set([k1.key.kid, k2.key.kid]));
    assert.deepEqual(update.state.retirements, {
      [k0.kid]: { notAfter: 111, successor: k1.key.kid },
      [k1.key.kid]: { notAfter: 222, successor: k2.key.kid },
    });
    assert.deepEqual(update.untrusted, []);
    // Applying it again changes nothing.
    assert.equal((await applyKeyAnswer(update.state, answer)).changed, false);
  });

  test('a key endorsed by an unknown key is not trusted', async () => {
    const k0 = await generateSigningKeyPair();
    const stranger = await generateSigningKeyPair();
    const forged = await successor(stranger);
    const update = await applyKeyAnswer(trusting(k0), { active: forged.key.kid, keys: [entryOf(k0), forged.entry] });
    assert.deepEqual(update.added, []);
    assert.deepEqual(update.untrusted, [forged.key.kid]);
  });

  test('a second successor of the same key (a forked chain) refuses the answer', async () => {
    const k0 = await generateSigningKeyPair();
    const a = await successor(k0);
    const state = (await applyKeyAnswer(trusting(k0), { active: a.key.kid, keys: [a.entry] })).state;
    const b = await successor(k0);
    await assert.rejects(applyKeyAnswer(state, { active: b.key.kid, keys: [b.entry] }), { code: 'PAR_ERR_KEYS_UNTRUSTED' });
  });

  test('a kid that is not the thumbprint of its key, or an entry differing from its endorsement, refuses the answer', async () => {
    const k0 = await generateSigningKeyPair();
    const k1 = await successor(k0);
    const other = await generateSigningKeyPair();
    await assert.rejects(
      applyKeyAnswer(trusting(k0), { active: k1.key.kid, keys: [{ ...k1.entry, jwk: { ...publicPart(other.publicJwk), kty: 'OKP' } }] }),
      { code: 'PAR_ERR_KEYS_UNTRUSTED' },
    );
    await assert.rejects(
      applyKeyAnswer(trusting(k0), {
        active: other.kid,
        keys: [{ ...k1.entry, kid: other.kid, jwk: { ...publicPart(other.publicJwk), kty: 'OKP' } }],
      }),
      { code: 'PAR_ERR_KEYS_UNTRUSTED' },
    );
  });

  test('a tampered endorsement signature refuses the answer', async () => {
    const k0 = await generateSigningKeyPair();
    const k1 = await successor(k0);
    const [h, p, sig] = k1.entry.endorsement!.split('.') as [string, string, string];
    // A character well inside the signature: the last ones carry padding bits that decoders ignore.
    const at = sig.length - 10;
    const flipped = `${sig.slice(0, at)}${sig[at] === 'A' ? 'B' : 'A'}${sig.slice(at + 1)}`;
    await assert.rejects(
      applyKeyAnswer(trusting(k0), { active: k1.key.kid, keys: [{ ...k1.entry, endorsement: `${h}.${p}.${flipped}` }] }),
      { code: 'PAR_ERR_KEYS_UNTRUSTED' },
    );
  });
});
