/**
 * Per-runner grants: read them (viewer, `on_prem_runner_read`), set or remove one (editor,
 * `on_prem_runner_write`). The principal must exist in the caller's org (a role: a built-in one).
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ADMIN_API, putGrantRequestSchema, type GrantsResponse, type PrincipalRef } from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import { requireCaller, requireRunnerAccess } from '../auth/access.js';
import type { ControlPlaneDeps } from '../deps.js';
import { parseInput } from '../http-errors.js';
import { accessKeySpace } from '../store/access-key-space.js';
import { SCOPES } from '../store/credentials.js';
import { listGrants, setGrant } from '../store/grants.js';
import { BUILT_IN_ROLES } from '../store/principals.js';

const idParamsSchema = z.object({ id: z.string().min(1) });

async function principalInOrg(deps: ControlPlaneDeps, orgId: string, p: PrincipalRef): Promise<boolean> {
  const aks = accessKeySpace(deps.ks);
  switch (p.type) {
    case 'role': return BUILT_IN_ROLES.some((r) => r.id === p.id);
    case 'user': return (await deps.redis.hget(deps.ks.user(p.id), 'orgId')) === orgId;
    case 'team': return (await deps.redis.hget(aks.team(p.id), 'orgId')) === orgId;
    case 'service_account': return (await deps.redis.hget(aks.serviceAccount(p.id), 'orgId')) === orgId;
  }
}

export function grantRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(`${ADMIN_API.runners}/:id/grants`, async (request): Promise<GrantsResponse> => {
      const caller = await requireCaller(deps, request.headers, SCOPES.runnerRead);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const { runner } = await requireRunnerAccess(deps, caller, id, 'viewer');
      return { grants: await listGrants(deps.redis, deps.ks, runner.id) };
    });

    app.put(`${ADMIN_API.runners}/:id/grants`, async (request): Promise<GrantsResponse> => {
      const caller = await requireCaller(deps, request.headers, SCOPES.runnerWrite);
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const { runner } = await requireRunnerAccess(deps, caller, id, 'editor');
      const body = parseInput(putGrantRequestSchema, request.body ?? {}, 'body');
      if (!(await principalInOrg(deps, caller.orgId, body.principal))) throw new ParError('PAR_ERR_NOT_FOUND', `${body.principal.type} ${body.principal.id}`);
      await setGrant(deps.redis, deps.ks, runner.id, body.principal, body.role);
      request.log.info({ runnerId: runner.id, principal: body.principal, role: body.role }, 'runner grant set');
      return { grants: await listGrants(deps.redis, deps.ks, runner.id) };
    });
  };
}
