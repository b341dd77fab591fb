/** `GET /healthz`: the process is up and its Redis answers (bounded wait, so probes never hang). */
import type { FastifyPluginAsync } from 'fastify';
import { ParError } from '../../errors/par-error.js';
import type { ControlPlaneDeps } from '../deps.js';

const REDIS_PING_TIMEOUT_MS = 1_000;

export function healthRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async (_request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          deps.redis.ping(),
          new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), REDIS_PING_TIMEOUT_MS); }),
        ]);
        return { status: 'ok', redis: 'ok' };
      } catch {
        const error = new ParError('PAR_ERR_INTERNAL', 'Redis does not answer');
        return reply.status(503).send(error.toBody());
      } finally {
        clearTimeout(timer);
      }
    });
  };
}
