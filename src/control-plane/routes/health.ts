/** `GET /healthz`: the process is up and its Redis answers (bounded wait, so probes never hang). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { errorResponseSchema } from '../schema-compilers.js';

const REDIS_PING_TIMEOUT_MS = 1_000;

const healthzResponseSchema = z.object({ status: z.literal('ok'), redis: z.literal('ok') });

export function healthRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['health'],
          summary: 'Liveness: the process is up and Redis answers',
          security: SECURITY.none,
          response: { 200: healthzResponseSchema, 503: errorResponseSchema },
        },
      },
      async (_request, reply) => {
        let timer: NodeJS.Timeout | undefined;
        let answered: boolean;
        try {
          await Promise.race([
            deps.redis.ping(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timeout')), REDIS_PING_TIMEOUT_MS);
            }),
          ]);
          answered = true;
        } catch {
          answered = false;
        } finally {
          clearTimeout(timer);
        }
        if (answered) return { status: 'ok' as const, redis: 'ok' as const };
        const error = new ParError('PAR_ERR_INTERNAL', 'Redis does not answer');
        return reply.status(503).send(error.toBody());
      },
    );
  };
}
