/**
 * Creating a runner from the page or API, and enrolling it with its one-time token.
 *
 *   POST /api/v1/runners {name, allowlist, modes?}   app key with on_prem_runner_write; the caller
 *        -> {runner (never_connected), enrollment: {token, expiresAt, snippets}}   becomes editor
 *   POST /api/v1/runners/:id/enrollment-token          editor; only for a runner that never enrolled
 *   POST /api/v1/runners/enroll + `Authorization: Bearer <token>`   (dispatched from routes/runners.ts)
 *
 * The snippets name the control plane by PAR_CP_PUBLIC_URL, else by the URL this request reached,
 * which is what the person pasting them could reach too.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  createRunnerRequestSchema,
  createRunnerResponseSchema,
  enrollmentTokenResponseSchema,
  type CreateRunnerResponse,
  type EnrollmentTokenResponse,
  type EnrollmentTokenView,
} from '../../contracts/admin-api.js';
import { TASKS_API } from '../../contracts/tasks-api.js';
import type { EnrollResponse, tokenEnrollRequestSchema } from '../../contracts/runner-api.js';
import type { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import { canCreate, requireRunnerAccess, type Caller } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { idParamsSchema } from './params.js';
import { buildInstallSnippets } from '../snippets.js';
import { SCOPES } from '../store/credentials.js';
import { createPendingRunner, enrollWithToken, reissueEnrollmentToken, type IssuedToken } from '../store/enrollment-tokens.js';
import { grantField } from '../store/grants.js';
import { toView, type RunnerRecord } from '../store/runners.js';
import type { JWK } from 'jose';

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * The enrollment token of an enroll request: a bearer token in the Authorization header (never in
 * a body or URL) on a request without an API key. Anything presented that way is judged as a
 * token, so a mangled one is answered "unknown token" rather than "API key missing".
 */
export function enrollmentTokenFrom(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  if (request.headers['dd-api-key']) return undefined;
  return BEARER.exec(request.headers.authorization ?? '')?.[1];
}

/** The grant field of the caller: it becomes the new runner's editor. */
function principalOf(caller: Caller): string {
  return grantField({ type: caller.principal.type, id: caller.principal.id });
}

function controlPlaneUrl(deps: ControlPlaneDeps, request: FastifyRequest): string {
  if (deps.config.publicUrl) return deps.config.publicUrl.replace(/\/+$/, '');
  return `${request.protocol}://${request.headers.host ?? `${deps.config.host}:${deps.config.port}`}`;
}

function enrollmentView(deps: ControlPlaneDeps, request: FastifyRequest, runner: RunnerRecord, issued: IssuedToken): EnrollmentTokenView {
  const snippets = buildInstallSnippets({
    controlPlaneUrl: controlPlaneUrl(deps, request),
    token: issued.token,
    runnerName: runner.name,
    allowlist: runner.allowlist,
    modes: runner.modes,
    image: deps.config.runnerImage,
  });
  return { token: issued.token, expiresAt: issued.expiresAt, snippets };
}

/**
 * Token enrollment: the token alone authorises it (no API or app key), and decides which runner
 * enrolls. Called by the enroll route of routes/runners.ts when the request carries a token, with
 * the body its schema (tokenEnrollRequestSchema) parsed.
 */
export async function handleTokenEnrollment(
  deps: ControlPlaneDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  body: z.output<typeof tokenEnrollRequestSchema>,
  checkPublicKey: (jwk: Record<string, unknown>) => Promise<JWK>,
): Promise<FastifyReply> {
  const publicKey = await checkPublicKey(body.publicKey);
  const runner = await enrollWithToken(deps.redis, deps.ks, {
    token,
    publicKey,
    version: body.version,
    allowlist: body.allowlist,
    now: deps.now(),
  });
  // A cached "unknown" is never kept, but drop anything stale for this id all the same.
  deps.runnerAuth.forget(runner.id);
  request.log.info({ runnerId: runner.id, orgId: runner.orgId, name: runner.name }, 'runner enrolled with an enrollment token');
  const response: EnrollResponse = {
    runnerId: runner.id,
    urn: runner.urn,
    orgId: runner.orgId,
    name: runner.name,
    controlPlaneKeys: deps.jwks,
    allowlist: runner.allowlist,
  };
  return reply.status(201).send(response);
}

export function runnerCreateRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const creator = callerGuard(deps, SCOPES.runnerWrite, (caller) => {
    if (!canCreate(caller)) throw new ParError('PAR_ERR_AUTH_FORBIDDEN', 'creating a runner needs the admin or standard org role');
  });
  const writer = callerGuard(deps, SCOPES.runnerWrite);
  const tags = ['runners'];
  return async (app) => {
    app.post(
      TASKS_API.runners,
      {
        schema: {
          tags,
          summary: 'Create a runner and a one-time enrollment token with install snippets',
          security: SECURITY.appKey,
          body: createRunnerRequestSchema,
          response: withErrors({ 201: createRunnerResponseSchema }),
        },
        preValidation: creator.preValidation,
      },
      async (request, reply) => {
        const caller = creator.of(request);
        const { body } = request;
        const { runner, token } = await createPendingRunner(deps.redis, deps.ks, {
          id: randomUUID(),
          orgId: caller.orgId,
          name: body.name,
          allowlist: body.allowlist,
          modes: body.modes,
          creatorPrincipal: principalOf(caller),
          now: deps.now(),
          tokenTtlMs: deps.config.enrollmentTokenTtlMs,
        });
        request.log.info(
          { runnerId: runner.id, orgId: runner.orgId, name: runner.name, expiresAt: token.expiresAt },
          'runner created with an enrollment token',
        );
        const response: CreateRunnerResponse = {
          runner: { ...toView(runner), access: 'editor', status: 'never_connected', connections: 0 },
          enrollment: enrollmentView(deps, request, runner, token),
        };
        return reply.status(201).send(response);
      },
    );

    app.post(
      `${TASKS_API.runners}/:id/enrollment-token`,
      {
        schema: {
          tags,
          summary: 'A new enrollment token for a runner that never enrolled (editor)',
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 201: enrollmentTokenResponseSchema }),
        },
        preValidation: writer.preValidation,
      },
      async (request, reply) => {
        const caller = writer.of(request);
        const { id } = request.params;
        const { runner } = await requireRunnerAccess(deps, caller, id, 'editor');
        const token = await reissueEnrollmentToken(deps.redis, deps.ks, {
          runnerId: runner.id,
          orgId: runner.orgId,
          creatorPrincipal: principalOf(caller),
          now: deps.now(),
          tokenTtlMs: deps.config.enrollmentTokenTtlMs,
        });
        request.log.info({ runnerId: runner.id, expiresAt: token.expiresAt }, 'new enrollment token issued');
        const response: EnrollmentTokenResponse = { enrollment: enrollmentView(deps, request, runner, token) };
        return reply.status(201).send(response);
      },
    );
  };
}
