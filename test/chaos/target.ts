/**
 * The loopback service the chaos tasks call: `GET /exec/<scenario>/<n>?ms=<delay>` answers after
 * `delay` ms and counts every request it received per task, so "executed twice" is counted by
 * the service itself, not by what the system reports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ExecutionTarget {
  url: string;
  /** Requests received for `<scenario>/<n>` (counted when they arrive). */
  executions(scenario: string, n: number): number;
  /** When the task's first request was answered (epoch ms), if it was. */
  firstAnsweredAt(scenario: string, n: number): number | undefined;
  /** Requests of the scenario received and not yet answered. */
  inFlight(scenario: string): number;
  /** Requests of the scenario answered so far. */
  answered(scenario: string): number;
  close(): Promise<void>;
}

export async function startExecutionTarget(): Promise<ExecutionTarget> {
  const counts = new Map<string, number>();
  const firstAnswered = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const answered = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, d: number): void => {
    m.set(k, (m.get(k) ?? 0) + d);
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/exec\/([^/]+)\/(\d+)$/.exec(url.pathname);
    if (!m) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const scenario = m[1]!;
    const id = `${scenario}/${m[2]}`;
    bump(counts, id, 1);
    bump(inFlight, scenario, 1);
    const delay = Math.min(Number(url.searchParams.get('ms') ?? 0) || 0, 60_000);
    const timer = setTimeout(() => {
      bump(inFlight, scenario, -1);
      bump(answered, scenario, 1);
      if (!firstAnswered.has(id)) firstAnswered.set(id, Date.now());
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ task: id }));
    }, delay);
    // A worker killed mid-request: forget the request.
    res.on('close', () => {
      if (!res.writableEnded) {
        clearTimeout(timer);
        bump(inFlight, scenario, -1);
      }
    });
  });
  server.keepAliveTimeout = 2_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    executions: (scenario, n) => counts.get(`${scenario}/${n}`) ?? 0,
    firstAnsweredAt: (scenario, n) => firstAnswered.get(`${scenario}/${n}`),
    inFlight: (scenario) => inFlight.get(scenario) ?? 0,
    answered: (scenario) => answered.get(scenario) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
