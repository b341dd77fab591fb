/**
 * Key endorsements: the chain of trust between successive control-plane task-signing keys. When
 * the control plane rotates, the outgoing key signs a statement naming its successor (public JWK,
 * kid) and its own retirement time. A runner that trusts the outgoing key (pinned at enrollment,
 * or learnt through an earlier endorsement) can then trust the successor whatever channel carried
 * the statement: a TLS-intercepting proxy, a stolen certificate or a tampered key-fetch answer
 * cannot introduce a key, because only the holder of a trusted private key can endorse one.
 */
import { CompactSign, calculateJwkThumbprint, compactVerify, decodeProtectedHeader, errors as joseErrors, type JWK } from 'jose';
import { z } from 'zod';
import { TASK_ISSUER } from '../contracts/runner-api.js';
import { ParError } from '../errors/par-error.js';
import { SIGNING_ALG, importSigningKey, publicPart, type SigningKey } from './keys.js';

export const ENDORSEMENT_TYP = 'par-key-endorsement+jwt';

export const endorsementPayloadSchema = z
  .object({
    iss: z.literal(TASK_ISSUER),
    /** The endorsed (new) key's kid: its RFC 7638 thumbprint. */
    sub: z.string().min(1),
    /** The endorsed key's public JWK. */
    jwk: z.record(z.string(), z.unknown()).and(z.object({ kty: z.string() })),
    /** The endorsing (outgoing) key's kid. */
    prev: z.string().min(1),
    /** Unix ms after which tasks signed by the outgoing key are refused. */
    prevNotAfter: z.number().int().positive(),
    iat: z.number().int().positive(),
  })
  .strict();
export type EndorsementPayload = z.infer<typeof endorsementPayloadSchema>;

export async function signEndorsement(
  prevKey: SigningKey,
  prevKid: string,
  next: { publicJwk: JWK; kid: string },
  prevNotAfter: number,
  nowMs: number,
): Promise<string> {
  const payload: EndorsementPayload = {
    iss: TASK_ISSUER,
    sub: next.kid,
    jwk: publicPart(next.publicJwk) as EndorsementPayload['jwk'],
    prev: prevKid,
    prevNotAfter,
    iat: Math.floor(nowMs / 1000),
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: SIGNING_ALG, kid: prevKid, typ: ENDORSEMENT_TYP })
    .sign(prevKey);
}

/** The kid of the key that signed an endorsement (unverified: used to pick the verifying key). */
export function endorsementSigner(jws: string): string | undefined {
  try {
    const header = decodeProtectedHeader(jws);
    return header.typ === ENDORSEMENT_TYP && typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies an endorsement with the endorsing key's public JWK and checks it is self-consistent: the
 * endorsed kid is the thumbprint of the endorsed JWK, and the signer is the key it names as `prev`.
 */
export async function verifyEndorsement(jws: string, signerJwk: JWK): Promise<EndorsementPayload> {
  const signerKid = await calculateJwkThumbprint(publicPart(signerJwk));
  let text: string;
  try {
    const { payload, protectedHeader } = await compactVerify(jws, await importSigningKey(publicPart(signerJwk)), {
      algorithms: [SIGNING_ALG],
    });
    if (protectedHeader.typ !== ENDORSEMENT_TYP || protectedHeader.kid !== signerKid)
      throw new ParError('PAR_ERR_KEYS_UNTRUSTED', 'endorsement header does not name its signer');
    text = new TextDecoder().decode(payload);
  } catch (error) {
    if (error instanceof ParError) throw error;
    if (error instanceof joseErrors.JOSEError) throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `endorsement signature: ${error.code}`);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ParError('PAR_ERR_KEYS_UNTRUSTED', 'endorsement payload is not JSON');
  }
  const parsed = endorsementPayloadSchema.safeParse(json);
  if (!parsed.success) throw new ParError('PAR_ERR_KEYS_UNTRUSTED', `endorsement payload: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const endorsement = parsed.data;
  if (endorsement.prev !== signerKid) throw new ParError('PAR_ERR_KEYS_UNTRUSTED', 'endorsement names another signer');
  if (endorsement.jwk['d'] !== undefined) throw new ParError('PAR_ERR_KEYS_UNTRUSTED', 'endorsed key carries a private part');
  const thumbprint = await calculateJwkThumbprint(endorsement.jwk);
  if (thumbprint !== endorsement.sub)
    throw new ParError('PAR_ERR_KEYS_UNTRUSTED', 'endorsed kid is not the thumbprint of the endorsed key');
  return endorsement;
}
