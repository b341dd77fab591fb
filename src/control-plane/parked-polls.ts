/**
 * Long polls parked on each connection, so a runner needs only one socket. Over HTTP/1.1 the
 * answer to a request sent behind a parked poll (pipelined: a heartbeat, a result, a key fetch)
 * can only be written after the poll's answer; left alone it would wait out the poll. Any request
 * arriving on a connection after a poll (an `onRequest` hook, app.ts) ends that poll's wait: the
 * poll answers at once with what it has (usually nothing), the call behind it is answered next,
 * and the runner polls again. A call that arrives before the poll has parked (the poll still
 * authenticating) counts too: arrivals are numbered per connection, and a poll that parks after a
 * later arrival does not wait at all. The runner marks its other calls idempotent and its poll
 * non-blocking (control-plane-client.ts), so undici pipelines them on the one socket.
 */
interface Connection {
  /** Requests that arrived on it so far. */
  arrivals: number;
  parked?: { yieldNow: () => void; seq: number };
}

export class ParkedPolls {
  private readonly connections = new WeakMap<object, Connection>();
  /** Each request's arrival number on its connection. */
  private readonly seqs = new WeakMap<object, number>();

  /**
   * A request arrived on `connection` (every request, in arrival order): ends the wait of the poll
   * parked there. True when it ended one.
   */
  arrived(connection: object, request: object): boolean {
    let c = this.connections.get(connection);
    if (!c) {
      c = { arrivals: 0 };
      this.connections.set(connection, c);
    }
    c.arrivals += 1;
    this.seqs.set(request, c.arrivals);
    const parked = c.parked;
    if (!parked) return false;
    delete c.parked;
    parked.yieldNow();
    return true;
  }

  /**
   * Parks the poll `request` on `connection`: `yieldNow` is called when another request arrives on
   * it, or at once when one arrived since the poll did (then `yielded` is true).
   */
  park(connection: object, request: object, yieldNow: () => void): { yielded: boolean; dispose(): void } {
    // A request that did not pass through `arrived` (no hook) is numbered now.
    if (!this.seqs.has(request)) this.arrived(connection, request);
    const c = this.connections.get(connection);
    const seq = this.seqs.get(request);
    if (!c || seq === undefined) throw new Error('unreachable: arrived() numbers every request');
    if (c.arrivals > seq) {
      yieldNow();
      return { yielded: true, dispose: () => undefined };
    }
    const parked = { yieldNow, seq };
    c.parked = parked;
    return {
      yielded: false,
      dispose: () => {
        if (c.parked === parked) delete c.parked;
      },
    };
  }
}
