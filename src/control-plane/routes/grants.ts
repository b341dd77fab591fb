/**
 * Per-runner grants: read them (viewer, `on_prem_runner_read`), set or remove one (editor,
 * `on_prem_runner_write`). The principal must exist in the caller's org (a role: a built-in one).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ADMIN_API, grantsResponseSchema, putGrantRequestSchema, type PrincipalRef } from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import { requireCaller, requireRunnerAccess } from '../auth/access.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { guard } from '../route-guard.js';
import { withErrors } from '../schema-compilers.js';
import { idParamsSchema } from './params.js';
import { accessKeySpace } from '../store/access-key-space.js';
import { SCOPES, type Scope } from '../store/credentials.js';
import { listGrants, setGrant } from '../store/grants.js';
import { BUILT_IN_ROLES } from '../store/principals.js';

async function principalInOrg(deps: ControlPlaneDeps, orgId: string, p: PrincipalRef): Promise<boolean> {
  const aks = accessKeySpace(deps.ks);
  switch (p.type) {
    case 'role':
      return BUILT_IN_ROLES.some((r) => r.id === p.id);
    case 'user':
      return (await deps.redis.hget(deps.ks.user(p.id), 'orgId')) === orgId;
    case 'team':
      return (await deps.redis.hget(aks.team(p.id), 'orgId')) === orgId;
    case 'service_account':
      return (await deps.redis.hget(aks.serviceAccount(p.id), 'orgId')) === orgId;
  }
}

/** The caller, with `needed` on the runner of the URL (checked before the body is looked at). */
function runnerAccessGuard(deps: ControlPlaneDeps, scope: Scope, needed: 'viewer' | 'editor') {
  return guard(async (request) => {
    const caller = await requireCaller(deps, request.headers, scope);
    // The id's shape was checked by input-limits.ts (404 when malformed).
    const { id } = idParamsSchema.parse(request.params);
    const { runner } = await requireRunnerAccess(deps, caller, id, needed);
    return { caller, runner };
  });
}

export function grantRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const viewer = runnerAccessGuard(deps, SCOPES.runnerRead, 'viewer');
  const editor = runnerAccessGuard(deps, SCOPES.runnerWrite, 'editor');
  const tags = ['runners'];
  return async (app) => {
    app.get(
      `${ADMIN_API.runners}/:id/grants`,
      {
        schema: {
          tags,
          summary: "Read a runner's grants",
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 200: grantsResponseSchema }),
        },
        preValidation: viewer.preValidation,
      },
      async (request) => {
        const { runner } = viewer.of(request);
        return { grants: await listGrants(deps.redis, deps.ks, runner.id) };
      },
    );

    app.put(
      `${ADMIN_API.runners}/:id/grants`,
      {
        schema: {
          tags,
          summary: "Set or remove (role none) one principal's grant on a runner",
          security: SECURITY.appKey,
          params: idParamsSchema,
          body: putGrantRequestSchema,
          response: withErrors({ 200: grantsResponseSchema }),
        },
        preValidation: editor.preValidation,
      },
      async (request) => {
        const { caller, runner } = editor.of(request);
        const { body } = request;
        if (!(await principalInOrg(deps, caller.orgId, body.principal)))
          throw new ParError('PAR_ERR_NOT_FOUND', `${body.principal.type} ${body.principal.id}`);
        await setGrant(deps.redis, deps.ks, runner.id, body.principal, body.role);
        request.log.info({ runnerId: runner.id, principal: body.principal, role: body.role }, 'runner grant set');
        return { grants: await listGrants(deps.redis, deps.ks, runner.id) };
      },
    );
  };
}
