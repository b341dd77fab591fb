/**
 * Long polls parked on each connection, so a runner needs only one socket. Over HTTP/1.1 the
 * answer to a request sent behind a parked poll (pipelined: a heartbeat, a result, a key fetch)
 * can only be written after the poll's answer; left alone it would wait out the poll. Any request
 * arriving on a connection whose poll is parked (an `onRequest` hook, app.ts) ends that poll's
 * wait: the poll answers at once with what it has (usually nothing), the call behind it is
 * answered next, and the runner polls again. The runner marks its other calls idempotent and
 * its poll non-blocking (control-plane-client.ts), so undici pipelines them on the one socket.
 */
export class ParkedPolls {
  private readonly parked = new WeakMap<object, AbortController>();

  /** Parks a poll on `connection`; its signal fires when another request arrives on it. */
  park(connection: object): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    this.parked.set(connection, controller);
    return {
      signal: controller.signal,
      dispose: () => {
        if (this.parked.get(connection) === controller) this.parked.delete(connection);
      },
    };
  }

  /** A request arrived on `connection`: ends the wait of the poll parked there (true when there was one). */
  nudge(connection: object): boolean {
    const controller = this.parked.get(connection);
    if (!controller) return false;
    this.parked.delete(connection);
    controller.abort();
    return true;
  }
}
