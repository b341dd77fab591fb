/**
 * A real HTTP server on loopback that stands for an internal service in the private network.
 * It records every request it receives, so a test can assert that a rejected task never
 * reached it.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface TargetServer {
  url: string;
  requests: RecordedRequest[];
  route(path: string, handler: Route): void;
  close(): Promise<void>;
}

/**
 * `keepAliveMs`: how long an idle connection stays open (default 1 s, short so tests end quickly).
 * Keep-alive answers announce it (`Keep-Alive: timeout=1`), and undici closes a connection whose
 * announced timeout is within its threshold (2 s) after each answer: give a longer one where the
 * cost of a request is measured (the bench), or every request opens a new connection.
 */
export async function startTargetServer(options: { keepAliveMs?: number } = {}): Promise<TargetServer> {
  const requests: RecordedRequest[] = [];
  const routes = new Map<string, Route>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const handler = routes.get(path);
      if (handler) {
        Promise.resolve(handler(req, res, body)).catch(() => {
          res.statusCode = 500;
          res.end();
        });
        return;
      }
      if (path === '/health') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true }));
        return;
      }
      res.statusCode = 404;
      res.end('not found');
    });
  });
  server.keepAliveTimeout = options.keepAliveMs ?? 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
