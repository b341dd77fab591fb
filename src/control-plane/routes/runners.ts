/**
 * Runner enrollment (API key + app key with `on_prem_runner_write`), the runner list and detail
 * (`on_prem_runner_read` alias `runners_read`; only runners the caller may view, with its access)
 * and runner deletion (editor; refused while connections use it unless `?force=true`).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { JWK } from 'jose';
import {
  RUNNER_API,
  enrollRequestSchema,
  enrollResponseSchema,
  tokenEnrollRequestSchema,
  type EnrollResponse,
} from '../../contracts/runner-api.js';
import { TASKS_API } from '../../contracts/tasks-api.js';
import { importSigningKey } from '../../crypto/keys.js';
import { ParError } from '../../errors/par-error.js';
import { requireApiKey, requireAppKey } from '../auth/keys.js';
import type { ControlPlaneDeps } from '../deps.js';
import { invalidRequest } from '../http-errors.js';
import { SECURITY } from '../openapi.js';
import { guard } from '../route-guard.js';
import { noContentSchema, withErrors } from '../schema-compilers.js';
import { enrollmentTokenFrom, handleTokenEnrollment } from './runner-create.js';
import { statusSettings } from './runner-health.js';
import { idParamsSchema } from './params.js';
import { withStatus } from '../store/runner-health.js';
import {
  adminRunnerViewSchema,
  deleteRunnerQuerySchema,
  runnersResponseSchema,
  type AdminRunnerView,
  type RunnerAccess,
} from '../../contracts/admin-api.js';
import { requireRunnerAccess } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import { countConnections, listConnections } from '../store/connections.js';
import { SCOPES, type Scope } from '../store/credentials.js';
import { effectiveAccess } from '../store/grants.js';
import { loadPrincipal } from '../store/principals.js';
import { deleteRunner, enrollRunner, listRunners, toView, type RunnerRecord } from '../store/runners.js';

const READ_SCOPES: readonly Scope[] = [SCOPES.runnerRead];

/** Only an Ed25519 public JWK is accepted: a private key sent by mistake is refused, not stored. */
export async function checkPublicKey(jwk: Record<string, unknown>): Promise<JWK> {
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

/**
 * Who enrolls: a one-time enrollment token (runner created from the page or API; judged by the
 * handler, after the body), or API key + app key with on_prem_runner_write whose owner has the
 * admin or standard role (judged here, before the body).
 */
function enrollerGuard(deps: ControlPlaneDeps) {
  return guard(async (request) => {
    const token = enrollmentTokenFrom(request);
    if (token) return { kind: 'token' as const, token };
    const { orgId } = await requireApiKey(deps.redis, deps.ks, request.headers);
    const appKey = await requireAppKey(deps.redis, deps.ks, request.headers, SCOPES.runnerWrite, orgId);
    const owner = await loadPrincipal(deps.redis, deps.ks, appKey.owner, orgId);
    if (!owner || !owner.roles.some((r) => r === 'admin' || r === 'standard'))
      throw new ParError('PAR_ERR_AUTH_FORBIDDEN', 'enrolling a runner needs the admin or standard org role');
    return { kind: 'keys' as const, orgId, appKey };
  });
}

export function runnerRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const enroller = enrollerGuard(deps);
  const reader = callerGuard(deps, READ_SCOPES);
  const writer = callerGuard(deps, SCOPES.runnerWrite);
  const tags = ['runners'];
  return async (app) => {
    app.post(
      RUNNER_API.enroll,
      {
        schema: {
          tags: ['runner'],
          summary: 'Enroll a runner: with an enrollment token, or with API + app keys (then `name` is required)',
          security: SECURITY.enroll,
          // The looser of the two bodies (name optional); with keys the handler also applies enrollRequestSchema.
          body: tokenEnrollRequestSchema,
          response: withErrors({ 201: enrollResponseSchema }),
        },
        preValidation: enroller.preValidation,
      },
      async (request, reply) => {
        const who = enroller.of(request);
        if (who.kind === 'token') return handleTokenEnrollment(deps, request, reply, who.token, request.body, checkPublicKey);
        const { orgId, appKey } = who;
        const parsed = enrollRequestSchema.safeParse(request.body);
        if (!parsed.success) throw invalidRequest(parsed.error, 'body');
        const body = parsed.data;
        const publicKey = await checkPublicKey(body.publicKey);
        const runner = await enrollRunner(deps.redis, deps.ks, {
          id: randomUUID(),
          orgId,
          name: body.name,
          publicKey,
          allowlist: body.allowlist,
          modes: body.modes,
          version: body.version,
          enrolledBy: appKey.owner.id,
          enrolledByType: appKey.owner.type,
          now: deps.now(),
        });
        request.log.info({ runnerId: runner.id, orgId, name: runner.name }, 'runner enrolled');
        const response: EnrollResponse = { runnerId: runner.id, urn: runner.urn, orgId, name: runner.name, controlPlaneKeys: deps.jwks };
        return reply.status(201).send(response);
      },
    );

    app.get(
      TASKS_API.runners,
      {
        schema: {
          tags,
          summary: 'The runners the caller may view, with its access and their status',
          security: SECURITY.appKey,
          response: withErrors({ 200: runnersResponseSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const runners = await listRunners(deps.redis, deps.ks, caller.orgId);
        const access = await Promise.all(runners.map((r) => effectiveAccess(deps.redis, deps.ks, caller.principal, r.id)));
        const visible = runners.flatMap((r, i) => {
          const a = access[i];
          return a ? [{ runner: r, access: a }] : [];
        });
        const counts = await countConnections(
          deps.redis,
          deps.ks,
          visible.map((v) => v.runner.id),
        );
        return {
          runners: await withStatus(
            statusSettings(deps),
            visible.map((v, i) => toAdminView(v.runner, v.access, counts[i] ?? 0)),
          ),
        };
      },
    );

    app.get(
      `${TASKS_API.runners}/:id`,
      {
        schema: {
          tags,
          summary: 'One runner',
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 200: adminRunnerViewSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const { id } = request.params;
        const { runner, access } = await requireRunnerAccess(deps, caller, id, 'viewer');
        const [count] = await countConnections(deps.redis, deps.ks, [runner.id]);
        const view = toAdminView(runner, access, count ?? 0);
        return (await withStatus(statusSettings(deps), [view]))[0] ?? view;
      },
    );

    app.delete(
      `${TASKS_API.runners}/:id`,
      {
        schema: {
          tags,
          summary: 'Delete a runner (refused while connections use it unless force=true)',
          security: SECURITY.appKey,
          params: idParamsSchema,
          querystring: deleteRunnerQuerySchema,
          response: withErrors({ 204: noContentSchema }),
        },
        preValidation: writer.preValidation,
      },
      async (request, reply) => {
        const caller = writer.of(request);
        const {
          params: { id },
          query: { force },
        } = request;
        const { runner } = await requireRunnerAccess(deps, caller, id, 'editor');
        if (!force) {
          const inUse = await listConnections(deps.redis, deps.ks, caller.orgId, [runner.id]);
          if (inUse.length > 0) {
            throw new ParError(
              'PAR_ERR_RUNNER_IN_USE',
              `runner ${runner.name} is used by connections ${inUse.map((c) => `${c.name} (${c.id})`).join(', ')}; delete them or pass ?force=true`,
            );
          }
        }
        await deleteRunner(deps.redis, deps.ks, runner, deps.now());
        deps.runnerAuth.forget(runner.id);
        request.log.info({ runnerId: runner.id, force }, 'runner deleted');
        return reply.status(204).send();
      },
    );
  };
}

function toAdminView(runner: RunnerRecord, access: RunnerAccess, connections: number): AdminRunnerView {
  return { ...toView(runner), access, connections };
}
