/** `GET /api/v1/control-plane/keys`: the public task-signing keys (JWKS), for runners to pin. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RUNNER_API, jwksSchema } from '../../contracts/runner-api.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';

export function controlPlaneKeysRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      RUNNER_API.keys,
      {
        schema: {
          tags: ['runner'],
          summary: 'The public task-signing keys (JWKS)',
          security: SECURITY.none,
          response: withErrors({ 200: jwksSchema }),
        },
      },
      async () => deps.jwks,
    );
  };
}
