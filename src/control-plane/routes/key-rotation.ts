/**
 * Key rotation routes (runner JWT):
 *
 * - `GET /api/v1/runner/keys`: the task-signing key chain (each key endorsed by its predecessor),
 *   read fresh from Redis so a runner that just saw a task under a new kid (signed by another
 *   control-plane process) always finds it here.
 * - `POST /api/v1/runner/identity/rotate`: the runner replaces its own identity key. The request
 *   token must be signed with the runner's CURRENT key (not the previous one during an overlap);
 *   the body carries the new public key and a proof signed by the new key naming this runner, the
 *   key it replaces and a one-time id.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, errors as joseErrors, type JWK } from 'jose';
import {
  IDENTITY_PROOF_TTL_S,
  IDENTITY_PROOF_TYP,
  KEY_ROTATION_API,
  keyAnswerSchema,
  rotateIdentityRequestSchema,
  rotateIdentityResponseSchema,
} from '../../contracts/control-plane-keys.js';
import { RUNNER_TOKEN_AUDIENCE } from '../../contracts/runner-api.js';
import { SIGNING_ALG, importSigningKey, publicPart } from '../../crypto/keys.js';
import { ParError } from '../../errors/par-error.js';
import { runnerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { guard } from '../route-guard.js';
import { withErrors } from '../schema-compilers.js';
import { rotateRunnerKey } from '../store/runner-identity.js';
import { keyAnswer, readKeyRing } from '../store/signing-key.js';

function invalid(reason: string): ParError {
  return new ParError('PAR_ERR_IDENTITY_ROTATION_INVALID', reason);
}

export function keyRotationRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const runnerOnly = runnerGuard(deps);
  const currentKeyRunner = guard(async (request) => {
    const runner = await deps.runnerAuth.authenticate(request.headers.authorization);
    if (runner.keyUsed === 'previous') throw invalid('signed with the previous identity key: only the current key may rotate it');
    return runner;
  });
  const tags = ['runner'];
  return async (app) => {
    app.get(
      KEY_ROTATION_API.runnerKeys,
      {
        schema: { tags, summary: 'The task-signing key chain', security: SECURITY.runner, response: withErrors({ 200: keyAnswerSchema }) },
        preValidation: runnerOnly.preValidation,
      },
      async () => keyAnswer(await readKeyRing(deps.redis, deps.ks, deps.now()), deps.now()),
    );

    app.post(
      KEY_ROTATION_API.rotateIdentity,
      {
        schema: {
          tags,
          summary: "Replace the runner's identity key (token signed with the current key)",
          security: SECURITY.runner,
          body: rotateIdentityRequestSchema,
          response: withErrors({ 200: rotateIdentityResponseSchema }),
        },
        preValidation: currentKeyRunner.preValidation,
      },
      async (request) => {
        const runner = currentKeyRunner.of(request);
        const { body } = request;
        if (body.publicKey['d'] !== undefined) throw invalid('publicKey carries a private part');
        if (body.publicKey.kty !== 'OKP' || body.publicKey['crv'] !== 'Ed25519') throw invalid('publicKey must be an Ed25519 key');
        const newJwk = publicPart(body.publicKey);
        const newKid = await calculateJwkThumbprint(newJwk);
        let payload: Record<string, unknown>;
        try {
          if (decodeProtectedHeader(body.proof).kid !== newKid) throw invalid('proof is not signed by the new key');
          ({ payload } = await jwtVerify(body.proof, await importSigningKey(newJwk), {
            issuer: runner.runnerId,
            audience: RUNNER_TOKEN_AUDIENCE,
            algorithms: [SIGNING_ALG],
            typ: IDENTITY_PROOF_TYP,
            maxTokenAge: IDENTITY_PROOF_TTL_S,
            clockTolerance: 30,
            requiredClaims: ['iat', 'exp', 'jti'],
          }));
        } catch (error) {
          if (error instanceof ParError) throw error;
          if (error instanceof joseErrors.JOSEError) throw invalid(`proof: ${error.code}`);
          throw invalid('proof is not a JWS');
        }
        const { oldKid, newKid: claimedNewKid, jti } = payload;
        if (claimedNewKid !== newKid) throw invalid('proof names another new key');
        if (typeof oldKid !== 'string' || typeof jti !== 'string' || jti.length < 16 || jti.length > 200)
          throw invalid('proof lacks oldKid or jti');
        const current = await deps.redis.hget(deps.ks.runner(runner.runnerId), 'publicKey');
        if (!current) throw new ParError('PAR_ERR_AUTH_RUNNER_UNKNOWN');
        if ((await calculateJwkThumbprint(publicPart(JSON.parse(current) as JWK))) !== oldKid) {
          throw invalid("proof names a key that is not the runner's current key (replayed or stale)");
        }
        if (oldKid === newKid) throw invalid('the new key is the current key');
        const rotatedAt = deps.now();
        const previousKeyUntil = rotatedAt + deps.config.runnerKeyOverlapMs;
        const outcome = await rotateRunnerKey(deps.redis, deps.ks, {
          runnerId: runner.runnerId,
          expectedPublicKeyJson: current,
          newPublicKeyJson: JSON.stringify({ ...newJwk, kid: newKid, alg: SIGNING_ALG, use: 'sig' }),
          previousKeyUntil,
          rotatedAt,
          jti,
          jtiTtlMs: (IDENTITY_PROOF_TTL_S + 60) * 1000,
        });
        if (outcome === 'unknown') throw new ParError('PAR_ERR_AUTH_RUNNER_UNKNOWN');
        if (outcome === 'stale') throw invalid("the runner's key changed meanwhile");
        if (outcome === 'replayed') throw invalid('proof already used');
        deps.runnerAuth.forget(runner.runnerId);
        request.log.info(
          { runnerId: runner.runnerId, oldKid, newKid, previousKeyUntil: new Date(previousKeyUntil).toISOString() },
          'runner identity key rotated',
        );
        return { kid: newKid, rotatedAt, previousKeyUntil };
      },
    );
  };
}
