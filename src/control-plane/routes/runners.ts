/**
 * Runner enrollment (API key + app key with `on_prem_runner_write`) and the runner list
 * (app key with `runners_read`).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { JWK } from 'jose';
import { z } from 'zod';
import { RUNNER_API, enrollRequestSchema, type EnrollResponse } from '../../contracts/runner-api.js';
import { TASKS_API, type RunnerView } from '../../contracts/tasks-api.js';
import { importSigningKey } from '../../crypto/keys.js';
import { ParError } from '../../errors/par-error.js';
import { requireApiKey, requireAppKey } from '../auth/keys.js';
import type { ControlPlaneDeps } from '../deps.js';
import { parseInput } from '../http-errors.js';
import { SCOPES } from '../store/credentials.js';
import { enrollRunner, findRunnerInOrg, listRunners, toView } from '../store/runners.js';

const idParamsSchema = z.object({ id: z.string().min(1) });

/** Only an Ed25519 public JWK is accepted: a private key sent by mistake is refused, not stored. */
async function checkPublicKey(jwk: Record<string, unknown>): Promise<JWK> {
  if ('d' in jwk) throw new ParError('PAR_ERR_REQUEST_INVALID', 'publicKey: contains a private key part (d); send only the public key');
  if (jwk['kty'] !== 'OKP' || jwk['crv'] !== 'Ed25519' || typeof jwk['x'] !== 'string') {
    throw new ParError('PAR_ERR_REQUEST_INVALID', 'publicKey: must be an Ed25519 public JWK (kty OKP, crv Ed25519)');
  }
  const key: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk['x'], ...(typeof jwk['kid'] === 'string' ? { kid: jwk['kid'] } : {}) };
  try {
    await importSigningKey(key);
  } catch {
    throw new ParError('PAR_ERR_REQUEST_INVALID', 'publicKey: not a valid Ed25519 key');
  }
  return key;
}

export function runnerRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.post(RUNNER_API.enroll, async (request, reply) => {
      const { orgId } = await requireApiKey(deps.redis, deps.ks, request.headers);
      const appKey = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.runnerWrite, orgId);
      const body = parseInput(enrollRequestSchema, request.body ?? {}, 'body');
      const publicKey = await checkPublicKey(body.publicKey);
      const runner = await enrollRunner(deps.redis, deps.ks, {
        id: randomUUID(),
        orgId,
        name: body.name,
        publicKey,
        allowlist: body.allowlist,
        modes: body.modes,
        version: body.version,
        enrolledBy: appKey.userId,
        now: deps.now(),
      });
      request.log.info({ runnerId: runner.id, orgId, name: runner.name }, 'runner enrolled');
      const response: EnrollResponse = { runnerId: runner.id, urn: runner.urn, orgId, name: runner.name, controlPlaneKeys: deps.jwks };
      return reply.status(201).send(response);
    });

    app.get(TASKS_API.runners, async (request): Promise<{ runners: RunnerView[] }> => {
      const caller = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.runnersRead);
      const runners = await listRunners(deps.redis, deps.ks, caller.orgId);
      return { runners: runners.map(toView) };
    });

    app.get(`${TASKS_API.runners}/:id`, async (request): Promise<RunnerView> => {
      const caller = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.runnersRead);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const runner = await findRunnerInOrg(deps.redis, deps.ks, caller.orgId, id);
      if (!runner) throw new ParError('PAR_ERR_NOT_FOUND', `runner ${id}`);
      return toView(runner);
    });
  };
}
