/**
 * The control plane's HTTP app, without a port: tests drive it with `inject()`, server.ts listens.
 * Each route group is an encapsulated plugin declaring its routes with zod schemas (validated and
 * serialised by schema-compilers.ts, documented at /api/openapi.json by openapi.ts); errors are
 * mapped centrally (http-errors.ts).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ControlPlaneDeps } from './deps.js';
import { frameworkErrors, installErrorHandling } from './http-errors.js';
import { DEFAULT_BODY_LIMIT, installInputLimits } from './input-limits.js';
import { RequestLogging } from './request-logging.js';
import { controlPlaneKeysRoutes } from './routes/control-plane-keys.js';
import { healthRoutes } from './routes/health.js';
import { runnerCreateRoutes } from './routes/runner-create.js';
import { runnerHealthRoutes } from './routes/runner-health.js';
import { runnerTaskRoutes } from './routes/runner-tasks.js';
import { runnerRoutes } from './routes/runners.js';
import { taskRoutes } from './routes/tasks.js';
import { connectionRoutes } from './routes/connections.js';
import { grantRoutes } from './routes/grants.js';
import { keyRoutes } from './routes/keys.js';
import { meRoutes } from './routes/me.js';
import { userRoutes } from './routes/users.js';
import { webRoutes } from './routes/web.js';
import { keyRotationRoutes } from './routes/key-rotation.js';
import { metricsRoutes } from './routes/metrics.js';
import { runnerStatsRoutes } from './routes/runner-stats.js';
import { taskCancelRoutes } from './routes/task-cancel.js';
import { openApiRoutes, registerOpenApi } from './openapi.js';
import { serializerCompiler, validatorCompiler } from './schema-compilers.js';

export type ControlPlaneApp = FastifyInstance;

/** One route as registered (method, URL pattern): the input sweep test covers each automatically. */
export interface RouteEntry {
  method: string;
  url: string;
}
const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route of an app built by buildApp (HEAD routes Fastify adds for GETs left out). */
export function routeTable(app: ControlPlaneApp): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export function buildApp(deps: ControlPlaneDeps): ControlPlaneApp {
  // The process logger carries the central redaction list (keys, tokens, authorization headers).
  // Typed as Fastify's base logger so the app and its plugins share the default generics.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  // Runner polls, heartbeats and health checks log their request lines at debug (request-logging.ts).
  const app = Fastify({ loggerInstance, bodyLimit: DEFAULT_BODY_LIMIT, frameworkErrors, logController: new RequestLogging() });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  installErrorHandling(app);
  // Size, nesting and id-shape limits on every route, before any handler (input-limits.ts).
  installInputLimits(app);
  // One socket per runner: a call sent behind the runner's parked poll ends that poll's wait
  // (parked-polls.ts); the connection metrics let operators (and tests) count runner sockets.
  app.addHook('onRequest', (request, _reply, done) => {
    if (deps.parkedPolls.arrived(request.raw.socket, request.raw)) deps.metrics.pollYields.inc();
    done();
  });
  app.server.on('connection', (socket: Socket) => {
    deps.metrics.connectionsOpened.inc();
    deps.metrics.connectionsOpen.inc();
    socket.once('close', () => deps.metrics.connectionsOpen.dec());
  });
  // Release long polls before the server waits for in-flight requests to finish.
  app.addHook('preClose', async () => {
    await deps.wakeups.close();
  });
  // Before the routes: it collects them (onRoute) into the OpenAPI document.
  registerOpenApi(app);
  const routesApp = app.withTypeProvider<ZodTypeProvider>();
  void routesApp.register(openApiRoutes);
  void routesApp.register(healthRoutes(deps));
  void routesApp.register(webRoutes(deps));
  void routesApp.register(controlPlaneKeysRoutes(deps));
  void routesApp.register(runnerRoutes(deps));
  void routesApp.register(taskRoutes(deps));
  void routesApp.register(runnerTaskRoutes(deps));
  // access control, keys, connections (issue 4, A)
  void routesApp.register(meRoutes(deps));
  void routesApp.register(userRoutes(deps));
  void routesApp.register(keyRoutes(deps));
  void routesApp.register(grantRoutes(deps));
  void routesApp.register(connectionRoutes(deps));
  void routesApp.register(runnerCreateRoutes(deps));
  void routesApp.register(runnerHealthRoutes(deps));
  // key rotation (issue 7)
  void routesApp.register(keyRotationRoutes(deps));
  // production shape (issue 11): Prometheus metrics, runner stats for the page's charts
  void routesApp.register(metricsRoutes(deps));
  void routesApp.register(runnerStatsRoutes(deps));
  // task cancellation (issue 11)
  void routesApp.register(taskCancelRoutes(deps));
  return app;
}
