/**
 * The runner's side of signing-key rotation, as a pure function: given the control-plane keys it
 * trusts (pinned at enrollment or learnt since) and a key-fetch answer, which keys may it add?
 * Only keys endorsed by a key it already trusts, walked to a fixpoint (a runner that slept through
 * two rotations follows K0 -> K1 -> K2). The answer's own `status` fields are never trusted:
 * retirement times come from the signed endorsements. One key endorses at most one successor; a
 * second, different successor (a leaked old key trying to fork the chain) is refused, as is an
 * entry whose kid is not its key's thumbprint (a kid collision) or that differs from what its
 * endorsement says. Any such tampering rejects the whole answer.
 */
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { KeyAnswer, KeyRetirements } from '../contracts/control-plane-keys.js';
import type { Jwks } from '../contracts/runner-api.js';
import { ParError } from '../errors/par-error.js';
import { endorsementSigner, verifyEndorsement } from './key-endorsement.js';
import { publicPart } from './keys.js';

export interface TrustedKeys {
  keys: Jwks;
  retirements: KeyRetirements;
}

export interface KeyChainUpdate {
  state: TrustedKeys;
  /** Kids trusted now that were not before. */
  added: string[];
  /** Kids that learnt their retirement time from this answer. */
  retired: string[];
  /** Kids in the answer that no trusted key endorses (not added). */
  untrusted: string[];
  changed: boolean;
}

/** At most this many keys are remembered; the oldest retired ones are forgotten first. */
export const MAX_REMEMBERED_KEYS = 32;

export async function kidOf(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicPart(jwk));
}

export async function applyKeyAnswer(current: TrustedKeys, answer: KeyAnswer): Promise<KeyChainUpdate> {
  const known = new Map<string, Jwks['keys'][number]>();
  for (const jwk of current.keys.keys) known.set(typeof jwk['kid'] === 'string' ? jwk['kid'] : await kidOf(jwk), jwk);
  const retirements: KeyRetirements = { ...current.retirements };
  const added: string[] = [];
  const retired: string[] = [];

  for (const entry of answer.keys) {
    const thumbprint = await kidOf(entry.jwk);
    if (thumbprint !== entry.kid)
      throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `key ${entry.kid.slice(0, 12)}: kid is not the key's thumbprint`);
    if (known.has(entry.kid) && (await kidOf(known.get(entry.kid) as JWK)) !== entry.kid) {
      throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `key ${entry.kid.slice(0, 12)}: collides with a trusted key of the same kid`);
    }
  }

  const pending = answer.keys.filter((e) => e.endorsement !== undefined);
  let progress = true;
  const done = new Set<number>();
  while (progress) {
    progress = false;
    for (const [index, entry] of pending.entries()) {
      if (done.has(index)) continue;
      const signer = endorsementSigner(entry.endorsement as string);
      if (!signer) throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `key ${entry.kid.slice(0, 12)}: endorsement is not a key endorsement`);
      const signerJwk = known.get(signer);
      if (!signerJwk) continue;
      done.add(index);
      progress = true;
      const endorsement = await verifyEndorsement(entry.endorsement as string, signerJwk);
      if (endorsement.sub !== entry.kid)
        throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `key ${entry.kid.slice(0, 12)}: endorsement names another key`);
      const existing = retirements[signer];
      if (existing && existing.successor !== entry.kid) {
        throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `key ${signer.slice(0, 12)} already endorsed another successor`);
      }
      if (!existing) {
        retirements[signer] = { notAfter: endorsement.prevNotAfter, successor: entry.kid };
        retired.push(signer);
      }
      if (!known.has(entry.kid)) {
        known.set(entry.kid, { ...endorsement.jwk, kid: entry.kid, alg: 'EdDSA', use: 'sig' });
        added.push(entry.kid);
      }
    }
  }
  const untrusted = answer.keys.filter((e) => !known.has(e.kid)).map((e) => e.kid);

  let keys = [...known.entries()];
  if (keys.length > MAX_REMEMBERED_KEYS) {
    const retiredOldestFirst = keys
      .filter(([kid]) => retirements[kid])
      .sort(([a], [b]) => (retirements[a]?.notAfter ?? 0) - (retirements[b]?.notAfter ?? 0));
    const drop = new Set(retiredOldestFirst.slice(0, keys.length - MAX_REMEMBERED_KEYS).map(([kid]) => kid));
    keys = keys.filter(([kid]) => !drop.has(kid));
  }
  return {
    state: { keys: { keys: keys.map(([, jwk]) => jwk) }, retirements },
    added,
    retired,
    untrusted,
    changed: added.length > 0 || retired.length > 0,
  };
}
