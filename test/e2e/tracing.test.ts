/**
 * Tracing across the real processes (issue 11): a control plane, a runner and a worker, each
 * exporting OTLP/HTTP JSON to a fake collector on loopback (test/fakes/otlp-collector.ts). One
 * http.request task must produce ONE trace holding spans of all three services with the right
 * parent links, the spans must leave on SIGTERM (the batch delay is set far beyond the test, so
 * only the shutdown flush can deliver them), and nothing secret may be in what was exported.
 * With OTEL_SDK_DISABLED the same round trip exports nothing; a collector that never answers
 * does not hold up a SIGTERM beyond the flush bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startControlPlaneProcess, releaseTestResources } from '../helpers/system.js';
import { uniquePrefix } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { startOtlpCollector, type OtlpCollector, type ReceivedSpan } from '../fakes/otlp-collector.js';

const QUERY_SECRET = 'q-secret-7d1e5c';
const HEADER_SECRET = 'h-secret-a94b20';
const BODY_SECRET = 'b-secret-03f8aa';

function one(spans: readonly ReceivedSpan[], predicate: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(predicate);
  assert.equal(found.length, 1, `expected one ${what}, got ${found.length}: ${spans.map((s) => `${s.serviceName}/${s.name}`).join(', ')}`);
  return found[0]!;
}

async function runTask(system: System, target: TargetServer): Promise<string> {
  const task = await system.api.submitTask({
    runner: system.runnerName,
    action: 'com.datadoghq.http.request',
    inputs: {
      verb: 'POST',
      url: `${target.url}/traced?token=${QUERY_SECRET}`,
      requestHeaders: { 'x-api-token': HEADER_SECRET },
      body: { secret: BODY_SECRET },
    },
    timeoutMs: 15_000,
  });
  const done = await system.api.waitForTask(task.id, 30_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
  return task.id;
}

/** SIGTERM to every process; each must exit 0 (a clean, flushed shutdown). */
async function stopGracefully(system: System): Promise<void> {
  const processes = [system.cp, system.runner, ...system.workers];
  const codes = await Promise.all(processes.map((p) => p.stop('SIGTERM', 20_000)));
  assert.deepEqual(
    codes,
    processes.map(() => 0),
    processes.map((p) => `${p.name}:\n${p.output().slice(-1500)}`).join('\n'),
  );
}

describe('tracing across processes', () => {
  let collector: OtlpCollector;
  let target: TargetServer;
  let system: System | undefined;

  before(async () => {
    collector = await startOtlpCollector();
    target = await startTargetServer();
    target.route('/traced', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
  });

  after(async () => {
    await system?.stop();
    await target.close();
    await collector.close();
  });

  test('one task: one trace over control plane, runner and worker, flushed on SIGTERM, with no secrets', async () => {
    // Only the shutdown flush can deliver within the test: the batch timer is set to 10 minutes.
    const common = { OTEL_BSP_SCHEDULE_DELAY: '600000' };
    system = await startSystem({
      workers: 1,
      cpEnv: { ...common, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
      runnerEnv: { ...common, OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces` },
      // The worker drops the headers variable from its environment (a collector credential) but still sends it.
      workerEnv: {
        ...common,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=wk-7f3a',
      },
    });
    const taskId = await runTask(system, target);
    assert.equal(collector.spans.length, 0, 'nothing is exported before the batch delay or shutdown');
    await stopGracefully(system);

    const spans = collector.spans;
    const submit = one(spans, (s) => s.name === 'par.task.submit' && s.attributes['par.task.id'] === taskId, 'submission span');
    assert.equal(submit.serviceName, 'par-control-plane');
    assert.equal(submit.parentSpanId, '', 'the trace starts at the submission');
    assert.equal(submit.kind, 2);
    const trace = spans.filter((s) => s.traceId === submit.traceId);

    // Every span about this task is in the submission's trace, and all three services are in it.
    for (const s of spans.filter((x) => x.attributes['par.task.id'] === taskId))
      assert.equal(s.traceId, submit.traceId, `${s.serviceName}/${s.name} is in another trace`);
    assert.deepEqual([...new Set(trace.map((s) => s.serviceName))].sort(), ['par-control-plane', 'par-runner', 'par-worker']);

    // runner intake <- the control plane's context, carried in the signed task
    const intake = one(trace, (s) => s.name === 'par.runner.intake', 'intake span');
    assert.equal(intake.serviceName, 'par-runner');
    assert.equal(intake.parentSpanId, submit.spanId);
    assert.equal(intake.attributes['par.intake.verdict'], 'accepted');

    // worker spans <- the runner's intake span, carried in the job
    const queueWait = one(trace, (s) => s.name === 'par.queue.wait', 'queue-wait span');
    const run = one(trace, (s) => s.name === 'par.task.run', 'run span');
    for (const s of [queueWait, run]) {
      assert.equal(s.serviceName, 'par-worker');
      assert.equal(s.parentSpanId, intake.spanId, `${s.name}'s parent is the runner's intake`);
    }
    assert.ok(queueWait.endTimeUnixNano >= queueWait.startTimeUnixNano);
    assert.ok(queueWait.startTimeUnixNano >= intake.startTimeUnixNano, 'the job is enqueued during intake');
    assert.equal(run.attributes['par.outcome'], 'succeeded');
    assert.equal(run.attributes['par.action'], 'com.datadoghq.http.request');
    assert.deepEqual(
      run.events.map((e) => e.name),
      ['state validating', 'state resolvingCredentials', 'state executing', 'state succeeded'],
    );

    const states = Object.fromEntries(
      ['validating', 'resolvingCredentials', 'executing'].map((state) => {
        const s = one(trace, (x) => x.name === `par.task.state ${state}`, `${state} span`);
        assert.equal(s.parentSpanId, run.spanId, `${state}'s parent is the run`);
        return [state, s];
      }),
    );

    // the action's HTTP call: a client span under `executing`, with method, host, port, status only
    const http = one(trace, (s) => s.kind === 3, 'HTTP client span');
    assert.equal(http.parentSpanId, states['executing']!.spanId);
    assert.equal(http.name, 'POST');
    const port = Number(new URL(target.url).port);
    assert.deepEqual(http.attributes, {
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });

    // the worker's exports carried its collector header; the others' did not
    const workerExports = collector.exports.filter((e) => e.spans.some((sp) => sp.serviceName === 'par-worker'));
    assert.ok(workerExports.length > 0);
    for (const e of collector.exports) assert.equal(e.headers['x-collector-key'], workerExports.includes(e) ? 'wk-7f3a' : undefined);

    // nothing secret, and no path or query, left any process
    const exported = collector.rawBodies.join('\n');
    for (const secret of [QUERY_SECRET, HEADER_SECRET, BODY_SECRET, '/traced', system.keys.appKey, system.keys.apiKey]) {
      assert.ok(!exported.includes(secret), `${secret} was exported`);
    }
    await system.stop();
    system = undefined;
  });

  test('OTEL_SDK_DISABLED=true: the same round trip exports nothing, although an endpoint is set', async () => {
    const before = collector.requestCount();
    const off = {
      OTEL_SDK_DISABLED: 'true',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    };
    system = await startSystem({ workers: 1, cpEnv: off, runnerEnv: off, workerEnv: off });
    await runTask(system, target);
    await stopGracefully(system);
    assert.equal(collector.requestCount(), before);
    for (const p of [system.cp, system.runner, ...system.workers]) assert.doesNotMatch(p.output(), /tracing on/);
    await system.stop();
    system = undefined;
  });

  test('a collector that never answers: SIGTERM still exits promptly, the flush cut off at its bound', async () => {
    let exportsSeen = 0;
    const hanging = createServer((req) => {
      if (req.url === '/v1/traces') exportsSeen++;
    }); // accepts, never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const base = uniquePrefix('e2e-tracing-hang');
    const appKey = randomBytes(20).toString('hex');
    const cp = await startControlPlaneProcess(
      base,
      { apiKey: randomBytes(16).toString('hex'), appKey },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`,
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      },
    );
    try {
      const post = async (path: string, body: unknown) => {
        const res = await request(`${cp.url}${path}`, {
          method: 'POST',
          headers: { 'dd-application-key': appKey, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const json = (await res.body.json()) as Record<string, unknown>;
        assert.equal(res.statusCode, 201, JSON.stringify(json));
        return json;
      };
      const name = `hang-${randomBytes(3).toString('hex')}`;
      await post('/api/v1/runners', { name, allowlist: ['com.datadoghq.http.request'] });
      await post('/api/v1/tasks', {
        runner: name,
        action: 'com.datadoghq.http.request',
        inputs: { url: 'http://127.0.0.1:1/' },
        timeoutMs: 1000,
      });
      const started = Date.now();
      assert.equal(await cp.proc.stop('SIGTERM', 20_000), 0, cp.proc.output().slice(-2000));
      const elapsed = Date.now() - started;
      assert.equal(exportsSeen, 1, 'the submission span was sent on shutdown');
      assert.match(cp.proc.output(), /tracing: spans not flushed in time/);
      assert.ok(elapsed < 15_000, `exited after ${elapsed} ms`);
    } finally {
      await releaseTestResources([cp.proc], base, []);
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });
});
