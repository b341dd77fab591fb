/** `GET /api/v1/control-plane/keys`: the public task-signing keys (JWKS), for runners to pin. */
import type { FastifyPluginAsync } from 'fastify';
import { RUNNER_API } from '../../contracts/runner-api.js';
import type { ControlPlaneDeps } from '../deps.js';

export function controlPlaneKeysRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(RUNNER_API.keys, async () => deps.jwks);
  };
}
