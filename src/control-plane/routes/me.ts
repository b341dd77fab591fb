/** `GET /api/v1/me`: who the app key acts as, its org roles and scopes (any valid key). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ADMIN_API, meResponseSchema } from '../../contracts/admin-api.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';

export function meRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const anyCaller = callerGuard(deps, []);
  return async (app) => {
    app.get(
      ADMIN_API.me,
      {
        schema: {
          tags: ['principals'],
          summary: 'Who the app key acts as',
          security: SECURITY.appKey,
          response: withErrors({ 200: meResponseSchema }),
        },
        preValidation: anyCaller.preValidation,
      },
      async (request) => {
        const caller = anyCaller.of(request);
        const { principal } = caller;
        return {
          principal: { type: principal.type, id: principal.id, name: principal.name },
          orgId: caller.orgId,
          roles: [...principal.roles],
          scopes: [...caller.key.scopes],
        };
      },
    );
  };
}
