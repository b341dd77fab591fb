/**
 * An AbortSignal that fires when the HTTP client goes away before we answered, so a long wait
 * stops holding a waiter for nobody. (The response's `close` also fires after a normal answer;
 * `writableEnded` tells the two apart.)
 */
import type { FastifyReply } from 'fastify';

export function abortOnClientGone(reply: FastifyReply): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) controller.abort();
  };
  reply.raw.on('close', onClose);
  return { signal: controller.signal, dispose: () => reply.raw.off('close', onClose) };
}
