/**
 * The runner's admin server: liveness, readiness, Prometheus metrics and the queue dashboard. It
 * binds to loopback by default (PAR_RUNNER_ADMIN_HOST): nothing outside the host needs it. The
 * dashboard (dashboard.ts: bull-board, masked, read-only unless PAR_DASHBOARD_READ_ONLY=false) is
 * loaded on the first request under /queues and then serves every request there, body unread
 * here, through its own fastify instance.
 */
import type { Queue } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';

export const DASHBOARD_PATH = '/queues';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface AdminServerDeps {
  host: string;
  port: number;
  queues: readonly Queue[];
  readOnly: boolean;
  /** Named checks; the runner is ready when all pass. Each must answer quickly. */
  readiness: Record<string, () => Promise<ReadinessCheck> | ReadinessCheck>;
  /** `/metrics`: this runner's prom-client registry (runner/metrics.ts). */
  metrics?: Registry;
  logger: Logger;
  /** Extra routes (identity rotation), registered before the dashboard. */
  routes?: (app: FastifyInstance) => void;
}

export interface AdminServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export function buildAdminApp(deps: Omit<AdminServerDeps, 'host' | 'port'>): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app: FastifyInstance = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });

  app.get('/healthz', async () => ({ status: 'ok' }));
  deps.routes?.(app);

  app.get('/metrics', async (_request, reply) => {
    const registry = deps.metrics;
    if (!registry) return reply.type('text/plain; version=0.0.4').send('');
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, ReadinessCheck> = {};
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        try {
          checks[name] = await check();
        } catch (error) {
          checks[name] = { ok: false, detail: (error as Error).message };
        }
      }),
    );
    const ready = Object.values(checks).every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  let dashboard: Promise<FastifyInstance> | undefined;
  const loadDashboard = (): Promise<FastifyInstance> => {
    dashboard ??= import('./dashboard.js')
      .then(({ buildDashboardApp }) =>
        buildDashboardApp({ basePath: DASHBOARD_PATH, queues: deps.queues, readOnly: deps.readOnly, logger: deps.logger }),
      )
      .catch((error: unknown) => {
        dashboard = undefined; // the next request tries again
        throw error;
      });
    return dashboard;
  };
  app.addHook('onClose', async () => {
    const loaded = await dashboard?.catch(() => undefined);
    await loaded?.close();
  });
  const toDashboard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let board: FastifyInstance;
    try {
      board = await loadDashboard();
    } catch (error) {
      deps.logger.error({ err: error }, 'the queue dashboard could not be loaded');
      return reply
        .code(500)
        .send({ error: `the queue dashboard could not be loaded: ${error instanceof Error ? error.message : String(error)}` });
    }
    reply.hijack();
    board.routing(request.raw, reply.raw);
  };
  // Encapsulated: the body is left unread for the dashboard's own parsers.
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, parsed) => {
      parsed(null);
    });
    scope.all(DASHBOARD_PATH, toDashboard);
    scope.all(`${DASHBOARD_PATH}/*`, toDashboard);
    done();
  });
  return app;
}

export async function startAdminServer(deps: AdminServerDeps): Promise<AdminServer> {
  const app = buildAdminApp(deps);
  const address = await app.listen({ host: deps.host, port: deps.port });
  // listen() reports e.g. http://127.0.0.1:9016; IPv6 hosts come back bracketed already.
  return { url: address, app, close: () => app.close() };
}
