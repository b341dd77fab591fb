/**
 * Signing tasks (control plane) and verifying them (runner, and again in workers). The verifier
 * maps every failure to a stable error code, so a rejected task is reported precisely.
 */
import { SignJWT, createLocalJWKSet, jwtVerify, errors as joseErrors, type JWK } from 'jose';
import { TASK_ISSUER, type Jwks } from '../contracts/runner-api.js';
import { taskClaimsSchema, type TaskClaims } from '../contracts/task.js';
import { ParError } from '../errors/par-error.js';
import { SIGNING_ALG, type SigningKey } from './keys.js';

export type UnsignedTaskClaims = Omit<TaskClaims, 'iss' | 'iat' | 'exp'>;

export class TaskSigner {
  constructor(private readonly privateKey: SigningKey, readonly kid: string) {}

  sign(claims: UnsignedTaskClaims, ttlMs: number, nowMs: number = Date.now()): Promise<string> {
    const { sub, aud, ...custom } = claims;
    const iat = Math.floor(nowMs / 1000);
    return new SignJWT(custom)
      .setProtectedHeader({ alg: SIGNING_ALG, kid: this.kid, typ: 'par-task+jwt' })
      .setIssuer(TASK_ISSUER)
      .setSubject(sub)
      .setAudience(aud)
      .setIssuedAt(iat)
      .setExpirationTime(Math.ceil((nowMs + ttlMs) / 1000))
      .sign(this.privateKey);
  }
}

export interface VerifyOptions {
  /** The runner this process belongs to: a task signed for another runner is refused. */
  runnerId: string;
  /** Workers re-verify tasks that may have waited for a retry: they skip the expiry check. */
  checkExpiry: boolean;
  /** Expected task id (from the delivery envelope), when known. */
  taskId?: string;
  now?: () => number;
}

/** Verifies signed tasks against the control-plane keys pinned at enrollment. */
export class TaskVerifier {
  private readonly keySet: ReturnType<typeof createLocalJWKSet>;

  constructor(pinnedKeys: Jwks) {
    this.keySet = createLocalJWKSet({ keys: pinnedKeys.keys as JWK[] });
  }

  async verify(signedTask: string, options: VerifyOptions): Promise<TaskClaims> {
    if (typeof signedTask !== 'string' || signedTask.split('.').length !== 3) {
      throw new ParError('PAR_ERR_TASK_MALFORMED', 'not a compact JWS');
    }
    let payload: unknown;
    try {
      const nowS = Math.floor((options.now ?? Date.now)() / 1000);
      const verified = await jwtVerify(signedTask, this.keySet, {
        issuer: TASK_ISSUER,
        algorithms: [SIGNING_ALG],
        currentDate: new Date(options.checkExpiry ? nowS * 1000 : 0),
      });
      payload = verified.payload;
    } catch (error) {
      throw mapJoseError(error);
    }
    const parsed = taskClaimsSchema.safeParse(payload);
    if (!parsed.success) throw new ParError('PAR_ERR_TASK_MALFORMED', parsed.error.issues[0]?.message ?? 'claims');
    const claims = parsed.data;
    if (claims.aud !== options.runnerId) throw new ParError('PAR_ERR_TASK_WRONG_RUNNER', `signed for ${claims.aud}`);
    if (options.taskId !== undefined && claims.sub !== options.taskId) {
      throw new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'delivery task id does not match the signed task id');
    }
    return claims;
  }
}

function mapJoseError(error: unknown): ParError {
  if (error instanceof joseErrors.JWTExpired) return new ParError('PAR_ERR_TASK_EXPIRED');
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID');
  if (error instanceof joseErrors.JWKSNoMatchingKey) return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'signed with a key this runner does not trust');
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'ambiguous key');
  if (error instanceof joseErrors.JWTClaimValidationFailed) return new ParError('PAR_ERR_TASK_MALFORMED', `claim ${error.claim}: ${error.reason}`);
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'algorithm not allowed');
  if (error instanceof joseErrors.JOSEError) return new ParError('PAR_ERR_TASK_MALFORMED', error.code);
  return new ParError('PAR_ERR_TASK_MALFORMED', error instanceof Error ? error.message : String(error));
}
