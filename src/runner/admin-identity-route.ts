/**
 * `POST /identity/rotate` on the runner's loopback admin server: `par runner rotate-identity` asks
 * the RUNNING runner to rotate, so the process that holds the leases and signs every call switches
 * keys itself and no task in flight is lost. Loopback is not authentication: the caller must
 * present a short token signed with the runner's current private key (audience
 * `par-runner-admin`), which only someone who can read config.yaml can make.
 */
import type { FastifyInstance } from 'fastify';
import { SignJWT, jwtVerify, type JWK } from 'jose';
import { SIGNING_ALG, importSigningKey, publicPart, type SigningKey } from '../crypto/keys.js';
import { ParError, toParError } from '../errors/par-error.js';
import { rotateIdentity, type IdentityRotationDeps } from './identity-rotation.js';

export const ADMIN_ROTATE_IDENTITY_PATH = '/identity/rotate';
export const ADMIN_TOKEN_AUDIENCE = 'par-runner-admin';

export async function adminToken(runnerId: string, privateKey: SigningKey): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: SIGNING_ALG })
    .setIssuer(runnerId)
    .setAudience(ADMIN_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(privateKey);
}

export function registerIdentityRoute(app: FastifyInstance, deps: IdentityRotationDeps): void {
  app.post(ADMIN_ROTATE_IDENTITY_PATH, async (request, reply) => {
    try {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (!token) throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', 'no bearer token');
      const identity = deps.store.current;
      try {
        await jwtVerify(token, await importSigningKey(publicPart(identity.publicKey as JWK)), {
          issuer: identity.runnerId,
          audience: ADMIN_TOKEN_AUDIENCE,
          algorithms: [SIGNING_ALG],
          maxTokenAge: 90,
        });
      } catch {
        throw new ParError('PAR_ERR_AUTH_RUNNER_TOKEN_INVALID', "not signed with this runner's current key");
      }
      const result = await rotateIdentity(deps);
      return await reply.code(200).send(result);
    } catch (error) {
      const parError = toParError(error);
      return reply.code(parError.httpStatus).send(parError.toBody());
    }
  });
}
