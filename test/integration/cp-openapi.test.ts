/**
 * Route schemas (issue 10): the OpenAPI document served at /api/openapi.json covers every route
 * the app registers (read from the app itself by its onRoute collector, so a route added later
 * without a schema fails here), validation failures keep the `{code, message, retryable}` envelope
 * naming the field, authentication still answers before validation, and response schemas drop
 * what they do not name (key listings never carry a key).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { z } from 'zod';
import { routeTable } from '../../src/control-plane/app.js';
import { installErrorHandling } from '../../src/control-plane/http-errors.js';
import { OPENAPI_PATH } from '../../src/control-plane/openapi.js';
import { METRICS_ROUTE } from '../../src/control-plane/routes/metrics.js';
import { WEB_ROUTES } from '../../src/control-plane/routes/web.js';
import { serializerCompiler, validatorCompiler } from '../../src/control-plane/schema-compilers.js';
import { ADMIN_API, apiKeyViewSchema, appKeyViewSchema } from '../../src/contracts/admin-api.js';
import { RUNNER_API } from '../../src/contracts/runner-api.js';
import { TASKS_API } from '../../src/contracts/tasks-api.js';
import { startHarness, type Harness } from './control-plane-harness.js';

/** Routes deliberately left out of the document: the web page (static HTML shell and assets). */
// /metrics is Prometheus text, not part of the JSON API.
const NOT_IN_OPENAPI: readonly string[] = [...WEB_ROUTES, METRICS_ROUTE];

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: unknown; parameters?: unknown[] }>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

let h: Harness;
let doc: OpenApiDocument;

before(async () => {
  h = await startHarness('openapi');
  const res = await h.request('GET', OPENAPI_PATH);
  assert.equal(res.statusCode, 200, JSON.stringify(res.body));
  doc = res.body as OpenApiDocument;
});

after(async () => {
  await h.close();
});

/** `/api/v1/tasks/:id` -> `/api/v1/tasks/{id}` (OpenAPI's spelling). */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}');
}

describe('OpenAPI document', () => {
  it('is served without a key and is OpenAPI 3.1 with the security schemes routes cite', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.components?.securitySchemes ?? {}).sort(), ['apiKey', 'appKey', 'enrollmentToken', 'runnerToken']);
  });

  it('lists every registered route except the explicit exclusions, and nothing else', () => {
    const routes = routeTable(h.app);
    assert.ok(routes.length >= 40, `only ${routes.length} routes`);
    for (const excluded of NOT_IN_OPENAPI)
      assert.ok(
        routes.some((r) => `${r.method} ${r.url}` === excluded),
        `${excluded} is registered`,
      );
    const expected = routes
      .filter((r) => !NOT_IN_OPENAPI.includes(`${r.method} ${r.url}`))
      .map((r) => `${r.method} ${openApiPath(r.url)}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(documented, expected);
  });

  it('documents request and response schemas: bodies, params, queries, success and error answers', () => {
    const op = (method: string, url: string) => doc.paths[openApiPath(url)]?.[method];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(ops)) {
        const statuses = Object.keys(operation.responses ?? {});
        assert.ok(
          statuses.some((s) => /^2\d\d$/.test(s)),
          `${method} ${path}: no success response documented (${statuses.join(', ')})`,
        );
        if (path !== '/healthz')
          assert.ok(statuses.includes('4XX') || statuses.includes('4xx'), `${method} ${path}: no error envelope (${statuses.join(', ')})`);
      }
    }
    assert.ok(op('post', TASKS_API.submit)?.requestBody, 'submit body');
    assert.ok(op('post', RUNNER_API.dequeue)?.requestBody, 'dequeue body');
    const params = (op('get', '/api/v1/tasks/:id')?.parameters ?? []) as { in: string; name: string }[];
    assert.deepEqual(params.map((p) => `${p.in}:${p.name}`).sort(), ['path:id', 'query:wait']);
    const submitParams = (op('post', TASKS_API.submit)?.parameters ?? []) as { in: string; name: string }[];
    assert.ok(
      submitParams.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
      'Idempotency-Key header documented',
    );
    assert.ok(
      submitParams.some((p) => p.in === 'query' && p.name === 'wait'),
      'submit-and-wait documented',
    );
  });
});

describe('validation through route schemas', () => {
  it('an invalid body is 400 PAR_ERR_REQUEST_INVALID naming the field, in the usual envelope', async () => {
    const runner = await h.enroll();
    const res = await h.request('POST', TASKS_API.submit, {
      headers: h.appHeaders(),
      body: { runner: runner.runnerId, action: 'com.datadoghq.http.request', connection: 'x' },
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.body, {
      code: 'PAR_ERR_REQUEST_INVALID',
      message: 'The request body or parameters are invalid: connection: unknown field (body)',
      retryable: false,
    });
  });

  it('an invalid query is 400 naming the parameter; a missing body gets the defaults', async () => {
    const res = await h.request('GET', `${ADMIN_API.tasks}?limit=100000`, { headers: h.appHeaders() });
    assert.equal(res.statusCode, 400);
    assert.match((res.body as { message: string }).message, /limit: /);
    // A dequeue without a body: max 10, waitMs 20 s by default; a ready task answers at once.
    const runner = await h.enroll();
    const task = await h.submit(runner);
    const polled = await h.request('POST', RUNNER_API.dequeue, { headers: await runner.headers() });
    assert.equal(polled.statusCode, 200, JSON.stringify(polled.body));
    assert.deepEqual(
      (polled.body as { tasks: { taskId: string }[] }).tasks.map((t) => t.taskId),
      [task.id],
    );
  });

  it('authentication answers before validation: no key and a bad body is refused for the key, not the body', async () => {
    const res = await h.request('POST', TASKS_API.submit, { body: { nonsense: true } });
    assert.equal(res.statusCode, 403, JSON.stringify(res.body));
    assert.equal((res.body as { code: string }).code, 'PAR_ERR_AUTH_APP_KEY_INVALID');
    const runnerRes = await h.request('POST', RUNNER_API.heartbeat, { body: { leases: 'x' } });
    assert.equal(runnerRes.statusCode, 401, JSON.stringify(runnerRes.body));
    assert.match((runnerRes.body as { code: string }).code, /^PAR_ERR_AUTH_/);
  });
});

describe('response schemas', () => {
  it('key listings carry no key: the created keys appear nowhere, each item has only the schema fields', async () => {
    const api = await h.request('POST', ADMIN_API.apiKeys, { headers: h.appHeaders(), body: { name: 'listing-check' } });
    assert.equal(api.statusCode, 201);
    const apiKey = (api.body as { key: string }).key;
    const app = await h.request('POST', ADMIN_API.appKeys, {
      headers: h.appHeaders(),
      body: { name: 'listing-check', scopes: ['runners_read'] },
    });
    assert.equal(app.statusCode, 201);
    const appKey = (app.body as { key: string }).key;
    assert.ok(apiKey.length >= 16 && appKey.length >= 16);

    const apiList = await h.request('GET', ADMIN_API.apiKeys, { headers: h.appHeaders() });
    const appList = await h.request('GET', ADMIN_API.appKeys, { headers: h.appHeaders() });
    for (const [list, secret, field, schema] of [
      [apiList, apiKey, 'apiKeys', apiKeyViewSchema],
      [appList, appKey, 'appKeys', appKeyViewSchema],
    ] as const) {
      assert.equal(list.statusCode, 200);
      const text = JSON.stringify(list.body);
      assert.ok(!text.includes(secret), `${field}: a key value is listed`);
      assert.ok(!text.includes(h.appKey), `${field}: the admin key value is listed`);
      const items = (list.body as Record<string, Record<string, unknown>[]>)[field] ?? [];
      assert.ok(items.length >= 2);
      const allowed = Object.keys(schema.shape);
      for (const item of items)
        for (const k of Object.keys(item)) assert.ok(allowed.includes(k), `${field}: field ${k} is not in the schema`);
    }
    // The documented listing schemas have no place for a key either.
    const listed = JSON.stringify(doc.paths[ADMIN_API.appKeys]?.['get']?.responses?.['200']);
    assert.ok(listed.includes('"scopes"') && !listed.includes('"key"'), listed.slice(0, 300));
  });

  it('the serializer drops fields a response schema does not name, and a reply breaking its schema is a 500 envelope', async () => {
    // The control plane's own compilers and error handling on a two-route app: what a handler
    // returning a store record by mistake would answer.
    const app = Fastify({ logger: false });
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    installErrorHandling(app);
    const view = z.object({ id: z.string(), name: z.string() });
    app.get('/leaky', { schema: { response: { 200: view } } }, async () => ({
      id: 'k1',
      name: 'ci',
      keyHash: 'deadbeef',
      secret: 'hunter2',
    }));
    app.get('/broken', { schema: { response: { 200: view } } }, async () => ({ id: 'k1' }));
    try {
      const leaky = await app.inject({ method: 'GET', url: '/leaky' });
      assert.equal(leaky.statusCode, 200);
      assert.deepEqual(JSON.parse(leaky.body), { id: 'k1', name: 'ci' });
      const broken = await app.inject({ method: 'GET', url: '/broken' });
      assert.equal(broken.statusCode, 500);
      assert.equal(JSON.parse(broken.body).code, 'PAR_ERR_INTERNAL');
    } finally {
      await app.close();
    }
  });
});
