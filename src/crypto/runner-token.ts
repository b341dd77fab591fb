/**
 * Short-lived request tokens: every runner call to the control plane carries a JWT signed with the
 * runner's private key (typ = par-runner+jwt, iss = runner id, aud = control plane). The minter
 * caches its token and mints a new one only when the cached one is close to expiry.
 *
 * The verifier checks `aud` always and `typ` when the token has one: runners older than the
 * `typ` header send none, and any other `typ` (an identity-rotation proof, also signed with the
 * runner's key for the same audience) is refused.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import { RUNNER_TOKEN_AUDIENCE, RUNNER_TOKEN_TYP } from '../contracts/runner-api.js';
import { ParError } from '../errors/par-error.js';
import { SIGNING_ALG, type SigningKey } from './keys.js';

export const RUNNER_TOKEN_TTL_S = 120;

export class RunnerTokenMinter {
  private cached: { token: string; refreshAt: number } | undefined;

  constructor(
    private readonly runnerId: string,
    private readonly privateKey: SigningKey,
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    const nowMs = this.now();
    if (this.cached && nowMs < this.cached.refreshAt) return this.cached.token;
    const iat = Math.floor(nowMs / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: SIGNING_ALG, typ: RUNNER_TOKEN_TYP })
      .setIssuer(this.runnerId)
      .setAudience(RUNNER_TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + RUNNER_TOKEN_TTL_S)
      .sign(this.privateKey);
    this.cached = { token, refreshAt: nowMs + (RUNNER_TOKEN_TTL_S / 2) * 1000 };
    return token;
  }
}

/** Reads the unverified issuer (runner id) so the verifier can look up the runner's key. */
export function peekRunnerId(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** How old (by `iat`) a runner token may be, in seconds; jose refuses older ones. */
export const RUNNER_TOKEN_MAX_AGE_S = RUNNER_TOKEN_TTL_S + 30;

/**
 * Verifies a runner token; resolves with the instant (ms) it stops being valid: its `exp`, or
 * `iat` + the max age when that comes first (without jose's clock tolerance: a cache of verified
 * tokens ends no later than jose would).
 */
export async function verifyRunnerToken(token: string, runnerId: string, publicKey: SigningKey): Promise<number> {
  try {
    // Runners that predate the header send no typ; any typ present must be ours (jose checks it).
    const typ = decodeProtectedHeader(token).typ === undefined ? {} : { typ: RUNNER_TOKEN_TYP };
    const { payload } = await jwtVerify(token, publicKey, {
      issuer: runnerId,
      audience: RUNNER_TOKEN_AUDIENCE,
      ...typ,
      algorithms: [SIGNING_ALG],
      maxTokenAge: RUNNER_TOKEN_MAX_AGE_S,
      clockTolerance: 30,
    });
    // jose requires iat (maxTokenAge) and we mint exp; a token without exp is good for its max age only.
    const byAge = ((payload.iat ?? 0) + RUNNER_TOKEN_MAX_AGE_S) * 1000;
    return payload.exp === undefined ? byAge : Math.min(payload.exp * 1000, byAge);
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', error.code);
    throw error;
  }
}
