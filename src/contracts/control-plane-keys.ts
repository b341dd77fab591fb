/**
 * Wire schemas of key rotation: the runner's key fetch (`GET /api/v1/runner/keys`, every key the
 * control plane signs or signed tasks with, each new one endorsed by its predecessor) and the
 * runner's identity rotation (`POST /api/v1/runner/identity/rotate`). Separate from runner-api.ts
 * so the rotation feature reads as one unit.
 */
import { z } from 'zod';
import { jwkSchema } from './runner-api.js';

export const KEY_ROTATION_API = {
  runnerKeys: '/api/v1/runner/keys',
  rotateIdentity: '/api/v1/runner/identity/rotate',
} as const;

/** `active`: signs new tasks; `retiring`: signed tasks that may still be valid; `retired`: refused, kept only as a link of the chain. */
export const signingKeyStatusSchema = z.enum(['active', 'retiring', 'retired']);
export type SigningKeyStatus = z.infer<typeof signingKeyStatusSchema>;

export const keyAnswerEntrySchema = z.object({
  kid: z.string().min(1).max(200),
  jwk: jwkSchema,
  status: signingKeyStatusSchema,
  createdAt: z.number().int(),
  /** For a retiring or retired key: when tasks it signed stop being accepted (unix ms). */
  notAfter: z.number().int().optional(),
  /** Compact JWS by the previous key naming this one (absent for the first key). */
  endorsement: z.string().max(10_000).optional(),
});
export type KeyAnswerEntry = z.infer<typeof keyAnswerEntrySchema>;

export const keyAnswerSchema = z.object({
  active: z.string().min(1),
  keys: z.array(keyAnswerEntrySchema).min(1).max(200),
});
export type KeyAnswer = z.infer<typeof keyAnswerSchema>;

/** Per control-plane key the runner no longer trusts for new tasks: when, and which key replaced it. */
export const keyRetirementSchema = z.object({ notAfter: z.number().int(), successor: z.string().min(1) });
export const keyRetirementsSchema = z.record(z.string(), keyRetirementSchema);
export type KeyRetirements = z.infer<typeof keyRetirementsSchema>;

/**
 * Identity rotation: authenticated by a runner token signed with the CURRENT key (possession of
 * the old key), carrying the new public key and `proof`, a compact JWS by the NEW key over
 * {iss: runner id, aud, oldKid, newKid, iat, exp, jti} (possession of the new key, bound to this
 * runner and to the key it replaces, so it cannot be replayed after the rotation or for another runner).
 */
export const rotateIdentityRequestSchema = z
  .object({
    publicKey: jwkSchema,
    proof: z.string().min(1).max(10_000),
  })
  .strict();
export type RotateIdentityRequest = z.infer<typeof rotateIdentityRequestSchema>;

export const rotateIdentityResponseSchema = z.object({
  kid: z.string(),
  rotatedAt: z.number().int(),
  /** Until then the control plane still accepts tokens signed with the previous key. */
  previousKeyUntil: z.number().int(),
});
export type RotateIdentityResponse = z.infer<typeof rotateIdentityResponseSchema>;

export const IDENTITY_PROOF_TYP = 'par-identity-rotation+jwt';
export const IDENTITY_PROOF_TTL_S = 120;
