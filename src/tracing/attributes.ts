/**
 * Names of our spans and of the attributes on them. The HTTP ones are OpenTelemetry's stable
 * semantic conventions, spelt out here so that `@opentelemetry/semantic-conventions` (140 kB of
 * constants) is not loaded by processes that do not trace; test/unit/tracing.test.ts checks them
 * against the package.
 */

export const SPAN = {
  /** Control plane: a task submission (POST /api/v1/tasks); the root of the task's trace. */
  submit: 'par.task.submit',
  /** Runner: one delivery, from the dequeue response to its job (or rejection) being queued. */
  intake: 'par.runner.intake',
  /** Worker: the task's job waiting in the `tasks` queue (BullMQ enqueue -> start). */
  queueWait: 'par.queue.wait',
  /** Worker: one run of the task (one BullMQ attempt), the lifecycle machine from start to end. */
  run: 'par.task.run',
  /** Worker: one state of the lifecycle machine (`par.task.state <name>`). */
  state: 'par.task.state',
} as const;

/** Stable semconv names (ATTR_HTTP_REQUEST_METHOD, ATTR_SERVER_ADDRESS, ...). */
export const SEMCONV = {
  httpRequestMethod: 'http.request.method',
  httpResponseStatusCode: 'http.response.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlScheme: 'url.scheme',
  errorType: 'error.type',
  serviceName: 'service.name',
} as const;

/** Our own attributes. Never inputs, outputs, credentials or URLs (query strings hold secrets). */
export const ATTR = {
  taskId: 'par.task.id',
  runnerId: 'par.runner.id',
  orgId: 'par.org.id',
  action: 'par.action',
  attempt: 'par.attempt',
  deliveryAttempt: 'par.delivery.attempt',
  outcome: 'par.outcome',
  errorCode: 'par.error.code',
  state: 'par.task.state',
  replayed: 'par.submit.replayed',
  verdict: 'par.intake.verdict',
  redirectHop: 'par.http.redirect_hop',
} as const;
