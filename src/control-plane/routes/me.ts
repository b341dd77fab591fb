/** `GET /api/v1/me`: who the app key acts as, its org roles and scopes (any valid key). */
import type { FastifyPluginAsync } from 'fastify';
import { ADMIN_API, type MeResponse } from '../../contracts/admin-api.js';
import { requireCaller } from '../auth/access.js';
import type { ControlPlaneDeps } from '../deps.js';

export function meRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(ADMIN_API.me, async (request): Promise<MeResponse> => {
      const caller = await requireCaller(deps, request.headers, []);
      const { principal } = caller;
      return {
        principal: { type: principal.type, id: principal.id, name: principal.name },
        orgId: caller.orgId,
        roles: [...principal.roles],
        scopes: [...caller.key.scopes],
      };
    });
  };
}
