/**
 * Key pairs for runner identities and task signing: Ed25519 (JWS alg `EdDSA`), small and fast
 * to sign and verify. Keys are kept as JWKs so they round-trip through JSON/YAML files.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export const SIGNING_ALG = 'EdDSA';

/** A key usable with jose for signing or verifying. */
export type SigningKey = CryptoKey;

export interface KeyPairJwk {
  privateJwk: JWK;
  publicJwk: JWK;
  kid: string;
}

export async function generateSigningKeyPair(): Promise<KeyPairJwk> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return { privateJwk: { ...privateJwk, kid, alg: SIGNING_ALG }, publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }, kid };
}

export async function importSigningKey(jwk: JWK): Promise<SigningKey> {
  const key = await importJWK({ ...jwk, alg: SIGNING_ALG }, SIGNING_ALG);
  if (key instanceof Uint8Array) throw new Error('expected an asymmetric key');
  return key;
}

export function publicPart(jwk: JWK): JWK {
  const { d: _d, ...rest } = jwk;
  return rest;
}
