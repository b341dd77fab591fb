/**
 * An AbortSignal that fires when the HTTP client goes away before we answered, so a long wait
 * stops holding a waiter for nobody (`abort()` ends the wait for another reason: a call behind a
 * parked poll). (The response's `close` also fires after a normal answer;
 * `writableEnded` tells the two apart.)
 */
import type { FastifyReply } from 'fastify';

export function abortOnClientGone(reply: FastifyReply): { signal: AbortSignal; abort(): void; dispose(): void } {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableEnded) controller.abort();
  };
  reply.raw.on('close', onClose);
  // abort(): ends the wait for another reason too (parked-polls.ts), without a second signal.
  return { signal: controller.signal, abort: () => controller.abort(), dispose: () => reply.raw.off('close', onClose) };
}
