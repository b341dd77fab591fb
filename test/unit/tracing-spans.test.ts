/**
 * The worker's spans in one process, with the SDK's InMemorySpanExporter: the real lifecycle
 * machine with the worker's real actors and action registry, watched by TaskRunTrace, running
 * http.request against a loopback server. The cross-process links are in test/e2e/tracing.test.ts.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Job } from 'bullmq';
import { createActor, toPromise } from 'xstate';
import { taskLifecycleMachine } from '../../machines/task-lifecycle/task-lifecycle.machine.js';
import { createActionRegistry, type ActionRegistry } from '../../src/actions/registry.js';
import type { TaskJobData } from '../../src/contracts/jobs.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { createLifecycleActors } from '../../workers/lifecycle-actors.js';
import { TaskRunTrace } from '../../workers/task-tracing.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const PARENT = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

describe('worker spans (in memory)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let target: TargetServer;
  let registry: ActionRegistry;

  before(async () => {
    trace.setGlobalTracerProvider(provider);
    target = await startTargetServer();
    target.route('/ok', (_req, res) => {
      res.end('fine');
    });
    target.route('/teapot', (_req, res) => {
      res.statusCode = 418;
      res.end('no');
    });
    registry = createActionRegistry();
  });
  after(async () => {
    await registry.close();
    await target.close();
    await provider.shutdown();
    trace.disable();
  });
  beforeEach(() => exporter.reset());

  async function runTask(inputs: Record<string, unknown>, timeoutMs = 10_000): Promise<{ kind: string; spans: ReadableSpan[] }> {
    const job = {
      data: { taskId: 't1', payload: '{}', tag: 'x' },
      attemptsMade: 0,
      timestamp: Date.now() - 15,
      processedOn: Date.now() - 5,
      queueName: 'tasks',
    } as unknown as Job<TaskJobData>;
    // The intake span's traceparent, as the worker reads it from the job's tagged payload.
    const tracing = TaskRunTrace.start(job, {
      taskId: 't1',
      attempt: 1,
      action: 'com.datadoghq.http.request',
      startedAt: Date.now(),
      traceparent: `00-${PARENT.traceId}-${PARENT.spanId}-01`,
    });
    const actors = createLifecycleActors({
      registry,
      configDir: '.',
      limits: { httpMaxResponseBytes: 1024 },
      logger,
      traceContext: (s) => tracing.contextFor(s),
    });
    const actor = createActor(taskLifecycleMachine.provide({ actors }), {
      input: { taskId: 't1', action: 'com.datadoghq.http.request', inputs, timeoutMs, now: Date.now },
    });
    const sub = tracing.observe(actor);
    actor.start();
    const out = await toPromise(actor);
    sub.unsubscribe();
    tracing.end({ kind: out.kind === 'succeeded' ? 'succeeded' : 'failed', code: out.error?.code });
    return { kind: out.kind, spans: exporter.getFinishedSpans() };
  }

  const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `${name}: ${spans.map((s) => s.name).join(', ')}`);
    return found[0]!;
  };
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  test("a run: queue wait and run under the job's parent, one span per state, the HTTP client span under executing", async () => {
    const { kind, spans } = await runTask({ verb: 'GET', url: `${target.url}/ok?api_key=hide-me` });
    assert.equal(kind, 'succeeded');
    for (const s of spans) assert.equal(s.spanContext().traceId, PARENT.traceId, s.name);
    const wait = byName(spans, 'par.queue.wait');
    const run = byName(spans, 'par.task.run');
    assert.equal(parentOf(wait), PARENT.spanId);
    assert.equal(parentOf(run), PARENT.spanId);
    assert.ok(wait.endTime[0] * 1e3 + wait.endTime[1] / 1e6 - (wait.startTime[0] * 1e3 + wait.startTime[1] / 1e6) >= 9, 'enqueue -> start');
    const states = ['validating', 'resolvingCredentials', 'executing'].map((s) => byName(spans, `par.task.state ${s}`));
    for (const s of states) assert.equal(parentOf(s), run.spanContext().spanId);
    assert.deepEqual(
      run.events.map((e) => e.name),
      ['state validating', 'state resolvingCredentials', 'state executing', 'state succeeded'],
    );
    assert.equal(run.attributes['par.outcome'], 'succeeded');
    const http = byName(spans, 'GET');
    assert.equal(http.kind, SpanKind.CLIENT);
    assert.equal(parentOf(http), states[2]!.spanContext().spanId);
    assert.deepEqual(http.attributes, {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(target.url).port),
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });
    assert.ok(!JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events])).includes('hide-me'));
  });

  test('a failing run: the client span is an error with error.type, the state and the run carry the code', async () => {
    const { kind, spans } = await runTask({ verb: 'GET', url: `${target.url}/teapot` });
    assert.equal(kind, 'failedFatal');
    const http = byName(spans, 'GET');
    assert.equal(http.status.code, SpanStatusCode.ERROR);
    assert.equal(http.attributes['error.type'], '418');
    const executing = byName(spans, 'par.task.state executing');
    assert.equal(executing.status.code, SpanStatusCode.ERROR);
    const run = byName(spans, 'par.task.run');
    assert.equal(run.status.code, SpanStatusCode.ERROR);
    assert.match(String(run.attributes['par.error.code']), /^PAR_ERR_/);
    assert.equal(run.events.at(-1)?.name, 'state failedFatal');
  });

  test('invalid inputs: the run ends in validating; a job without a traceparent starts a trace of its own', async () => {
    const job = {
      data: { taskId: 't2', payload: '{}', tag: 'x' },
      attemptsMade: 1,
      timestamp: 1,
      queueName: 'tasks',
    } as unknown as Job<TaskJobData>;
    const tracing = TaskRunTrace.start(job, { taskId: 't2', attempt: 2, startedAt: Date.now() });
    const actors = createLifecycleActors({
      registry,
      configDir: '.',
      limits: { httpMaxResponseBytes: 1024 },
      logger,
      traceContext: (s) => tracing.contextFor(s),
    });
    const actor = createActor(taskLifecycleMachine.provide({ actors }), {
      input: { taskId: 't2', action: 'com.datadoghq.http.request', inputs: { verb: 'NOPE' }, timeoutMs: 1000, now: Date.now },
    });
    tracing.observe(actor);
    actor.start();
    const out = await toPromise(actor);
    tracing.end({ kind: 'failed', code: out.error?.code });
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['par.task.run', 'par.task.state validating'], 'no queue wait on a retry');
    const run = byName(spans, 'par.task.run');
    assert.equal(run.parentSpanContext, undefined);
    assert.equal(byName(spans, 'par.task.state validating').attributes['par.error.code'], 'PAR_ERR_INPUT_INVALID');
    assert.equal(trace.getSpan(ROOT_CONTEXT), undefined);
  });
});
