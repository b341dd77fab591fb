/**
 * Fastify's per-request log lines ("incoming request", "request completed"), at `debug` for the
 * runners' periodic calls (long-poll dequeue, heartbeat, health check): a fleet of thousands of
 * runners would otherwise write two info lines per poll. Every other route keeps them at `info`,
 * and a runner call that errors is still logged at `error` (what was delivered, recorded or
 * refused is logged by the routes themselves, at info or above).
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { RUNNER_API } from '../contracts/runner-api.js';

const PERIODIC_RUNNER_CALLS: ReadonlySet<string> = new Set([RUNNER_API.dequeue, RUNNER_API.heartbeat, RUNNER_API.health]);

function isPeriodicRunnerCall(request: FastifyRequest): boolean {
  return request.method === 'POST' && PERIODIC_RUNNER_CALLS.has(request.url);
}

export class RequestLogging extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (isPeriodicRunnerCall(request)) {
      request.log.debug({ req: request }, 'incoming request');
      return;
    }
    super.incomingRequest(request, reply, metadata);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (!error && isPeriodicRunnerCall(request)) {
      reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
      return;
    }
    super.requestCompleted(error, request, reply, metadata);
  }
}
