/**
 * Short-lived request tokens: every runner call to the control plane carries a JWT signed with the
 * runner's private key (iss = runner id, aud = control plane). The minter caches its token and
 * mints a new one only when the cached one is close to expiry.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { RUNNER_TOKEN_AUDIENCE } from '../contracts/runner-api.js';
import { ParError } from '../errors/par-error.js';
import { SIGNING_ALG, type SigningKey } from './keys.js';

export const RUNNER_TOKEN_TTL_S = 120;

export class RunnerTokenMinter {
  private cached: { token: string; refreshAt: number } | undefined;

  constructor(private readonly runnerId: string, private readonly privateKey: SigningKey, private readonly now: () => number = Date.now) {}

  async token(): Promise<string> {
    const nowMs = this.now();
    if (this.cached && nowMs < this.cached.refreshAt) return this.cached.token;
    const iat = Math.floor(nowMs / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: SIGNING_ALG })
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
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof claims.iss === 'string' ? claims.iss : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyRunnerToken(token: string, runnerId: string, publicKey: SigningKey): Promise<void> {
  try {
    await jwtVerify(token, publicKey, { issuer: runnerId, audience: RUNNER_TOKEN_AUDIENCE, algorithms: [SIGNING_ALG], maxTokenAge: RUNNER_TOKEN_TTL_S + 30, clockTolerance: 30 });
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', error.code);
    throw error;
  }
}
