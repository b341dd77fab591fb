/**
 * The com.datadoghq.temporal actions with the real @temporalio/client against the FAKE Temporal
 * frontend (test/fakes/temporal-server.ts: grpc-js serving WorkflowService from the published
 * protos) in plain text, TLS and mTLS, with certificates made by openssl for this test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ActionContext, RegisteredAction } from '../../src/actions/action.js';
import { toCredentials } from '../../src/actions/credentials.js';
import { type Credentials } from '../../src/contracts/credentials.js';
import { createTemporalBundle, type TemporalBundle } from '../../src/actions/temporal/bundle.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { decodePayload, startFakeTemporalServer, WorkflowStatus, type FakeTemporalServer } from '../fakes/temporal-server.js';
import { makeTemporalCerts, SERVER_NAME, type TemporalTestCerts } from '../fakes/temporal-certs.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });

function tokens(values: Record<string, string>): Credentials {
  const parsed = toCredentials({
    auth_type: 'Token Auth',
    credentials: Object.entries(values).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
  });
  assert.ok(parsed.ok);
  return parsed.value;
}

function context(options: { credentials?: Credentials; address?: string; signal?: AbortSignal }): ActionContext {
  return {
    signal: options.signal ?? new AbortController().signal,
    credentials: options.credentials,
    connection: { id: 'conn-temporal', integration: 'temporal', ...(options.address ? { settings: { address: options.address } } : {}) },
    configDir: '/nonexistent',
    logger,
    limits: { httpMaxResponseBytes: 1 << 20 },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function run(action: RegisteredAction, inputs: unknown, ctx: ActionContext): Promise<any> {
  return action.run(action.inputSchema.parse(inputs), ctx);
}

async function runError(action: RegisteredAction, inputs: unknown, ctx: ActionContext): Promise<ParError> {
  try {
    await run(action, inputs, ctx);
  } catch (error) {
    assert.ok(error instanceof ParError, `not a ParError: ${String(error)}`);
    return error;
  }
  assert.fail('the action succeeded');
}

function until(condition: () => boolean, what: string): Promise<true> {
  return waitUntil(() => (condition() ? true : undefined), 15_000, what);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('temporal bundle against the fake frontend (plain text)', () => {
  let fake: FakeTemporalServer;
  let bundle: TemporalBundle;
  let runWorkflow: RegisteredAction;
  let listWorkflows: RegisteredAction;
  let getResult: RegisteredAction;
  let ctx: ActionContext;

  before(async () => {
    fake = await startFakeTemporalServer({ namespaces: ['default', 'payments'], longPollMs: 1000 });
    bundle = createTemporalBundle({ connection: { connectTimeoutMs: 3000 } });
    [runWorkflow, listWorkflows, getResult] = bundle.actions as [RegisteredAction, RegisteredAction, RegisteredAction];
    ctx = context({ address: fake.address });
  });
  after(async () => {
    await bundle.close();
    await fake.close();
  });

  it('registers the vendor FQNs', () => {
    assert.deepEqual(
      bundle.actions.map((a) => a.fqn),
      ['com.datadoghq.temporal.runWorkflow', 'com.datadoghq.temporal.listWorkflows', 'com.datadoghq.temporal.getWorkflowResult'],
    );
  });

  it('runWorkflow starts the workflow with json/plain arguments and returns its run id', async () => {
    const out = await run(
      runWorkflow,
      { workflowType: 'greet', workflowArgs: ['ada', { n: 1 }], workflowId: 'wf-1', taskQueue: 'q1' },
      ctx,
    );
    const started = fake.current('wf-1')!;
    assert.deepEqual(out, { runId: started.runId });
    assert.equal(started.workflowType, 'greet');
    assert.equal(started.taskQueue, 'q1');
    assert.deepEqual(started.input.map(decodePayload), ['ada', { n: 1 }]);
    const call = fake.calls.findLast((c) => c.method === 'StartWorkflowExecution')!;
    assert.equal(call.request['namespace'], 'default');
    assert.equal(call.metadata['temporal-namespace'], 'default');
  });

  it('runWorkflow without a workflowId uses a random UUID, and honours the namespace', async () => {
    const out = await run(runWorkflow, { workflowType: 'greet', taskQueue: 'q1', namespace: 'payments' }, ctx);
    const started = fake.runs().find((r) => r.runId === out.runId)!;
    assert.equal(started.namespace, 'payments');
    assert.match(started.workflowId, /^[0-9a-f-]{36}$/);
  });

  it('getWorkflowResult long-polls until the workflow completes and returns its result', async () => {
    await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-2', taskQueue: 'q1' }, ctx);
    const pending = run(getResult, { workflowId: 'wf-2' }, ctx);
    await until(() => fake.waiting > 0, 'a waiting long poll');
    fake.complete('wf-2', 'hello ada');
    assert.deepEqual(await pending, { executionResult: 'hello ada' });
  });

  it('getWorkflowResult keeps polling across empty long-poll answers', async () => {
    await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-3', taskQueue: 'q1' }, ctx);
    const pending = run(getResult, { workflowId: 'wf-3', runId: fake.current('wf-3')!.runId }, ctx);
    const polls = () =>
      fake.calls.filter((c) => c.method === 'GetWorkflowExecutionHistory' && c.request['execution']?.workflowId === 'wf-3').length;
    await until(() => polls() >= 2, 'two long polls');
    fake.complete('wf-3', { ok: true, items: [1, 2] });
    assert.deepEqual(await pending, { executionResult: '{"ok":true,"items":[1,2]}' });
  });

  it('getWorkflowResult follows a run continued as new', async () => {
    await run(runWorkflow, { workflowType: 'loop', workflowId: 'wf-4', taskQueue: 'q1' }, ctx);
    const first = fake.current('wf-4')!.runId;
    fake.continueAsNew('wf-4');
    fake.complete('wf-4', 'second run');
    assert.deepEqual(await run(getResult, { workflowId: 'wf-4', runId: first }, ctx), { executionResult: 'second run' });
  });

  it('a failed or terminated workflow is PAR_ERR_TEMPORAL_WORKFLOW_FAILED with its message', async () => {
    await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-5', taskQueue: 'q1' }, ctx);
    fake.fail('wf-5', 'activity exploded');
    const failed = await runError(getResult, { workflowId: 'wf-5' }, ctx);
    assert.equal(failed.code, 'PAR_ERR_TEMPORAL_WORKFLOW_FAILED');
    assert.equal(failed.retryable, false);
    assert.match(failed.message, /activity exploded/);
    await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-6', taskQueue: 'q1' }, ctx);
    fake.terminate('wf-6', 'operator stop');
    const terminated = await runError(getResult, { workflowId: 'wf-6' }, ctx);
    assert.equal(terminated.code, 'PAR_ERR_TEMPORAL_WORKFLOW_FAILED');
    assert.match(terminated.message, /operator stop/);
  });

  it('the server refusals are classified: NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT', async () => {
    const missing = await runError(getResult, { workflowId: 'no-such-workflow' }, ctx);
    assert.equal(missing.code, 'PAR_ERR_TEMPORAL_NOT_FOUND');
    assert.equal(missing.retryable, false);
    const ns = await runError(runWorkflow, { workflowType: 'greet', taskQueue: 'q1', namespace: 'nope' }, ctx);
    assert.equal(ns.code, 'PAR_ERR_TEMPORAL_NOT_FOUND');
    assert.match(ns.message, /Namespace nope is not found/);
    await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-dup', taskQueue: 'q1' }, ctx);
    const dup = await runError(runWorkflow, { workflowType: 'greet', workflowId: 'wf-dup', taskQueue: 'q1' }, ctx);
    assert.equal(dup.code, 'PAR_ERR_TEMPORAL_ALREADY_STARTED');
    const query = await runError(listWorkflows, { query: 'DROP TABLE x' }, ctx);
    assert.equal(query.code, 'PAR_ERR_TEMPORAL_INVALID');
    assert.match(query.message, /invalid query/);
  });

  it('listWorkflows returns the executions in the vendor shape (Go JSON of WorkflowExecutionInfo)', async () => {
    await run(runWorkflow, { workflowType: 'report', workflowId: 'wf-list-1', taskQueue: 'reports' }, ctx);
    await run(runWorkflow, { workflowType: 'report', workflowId: 'wf-list-2', taskQueue: 'reports' }, ctx);
    fake.complete('wf-list-1', 'done');
    const out = await run(listWorkflows, { query: "WorkflowType = 'report'" }, ctx);
    assert.equal(out.workflows.length, 2);
    const [second, first] = out.workflows;
    assert.deepEqual(first.execution, { workflow_id: 'wf-list-1', run_id: fake.current('wf-list-1')!.runId });
    assert.deepEqual(first.type, { name: 'report' });
    assert.equal(first.status, WorkflowStatus.COMPLETED);
    assert.equal(first.task_queue, 'reports');
    assert.equal(typeof first.start_time.seconds, 'number');
    assert.ok(first.close_time);
    assert.equal(second.status, WorkflowStatus.RUNNING);
    assert.equal(second.close_time, undefined);
    const running = await run(listWorkflows, { query: "WorkflowType = 'report' AND ExecutionStatus = 'Running'" }, ctx);
    assert.deepEqual(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      running.workflows.map((w: any) => w.execution.workflow_id),
      ['wf-list-2'],
    );
    const empty = await run(listWorkflows, { query: "WorkflowType = 'none'" }, ctx);
    assert.deepEqual(empty, { workflows: [] });
  });

  it('listWorkflows stops at the cap, following pages', async () => {
    const small = createTemporalBundle({ maxListedWorkflows: 3 });
    try {
      const list = small.actions[1]!;
      for (let i = 0; i < 5; i += 1) await run(runWorkflow, { workflowType: 'many', workflowId: `wf-many-${i}`, taskQueue: 'q1' }, ctx);
      const out = await run(list, { query: "WorkflowType = 'many'" }, ctx);
      assert.equal(out.workflows.length, 3);
    } finally {
      await small.close();
    }
  });

  it('one connection per credential set: many tasks, one GetSystemInfo', () => {
    assert.equal(bundle.connections.size, 1);
    assert.equal(fake.calls.filter((c) => c.method === 'GetSystemInfo').length, 2); // this bundle + the small one above
  });

  it('a transient UNAVAILABLE is retried by the client; a lasting one is PAR_ERR_TEMPORAL_UNAVAILABLE, retryable', async () => {
    fake.failNext('StartWorkflowExecution', grpc.status.UNAVAILABLE, 'overloaded');
    const out = await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-retry', taskQueue: 'q1' }, ctx);
    assert.equal(out.runId, fake.current('wf-retry')!.runId);
    fake.failNext('ListWorkflowExecutions', grpc.status.UNAVAILABLE, 'overloaded', 10);
    const listsBefore = fake.calls.filter((c) => c.method === 'ListWorkflowExecutions').length;
    const error = await runError(listWorkflows, {}, ctx);
    assert.equal(error.code, 'PAR_ERR_TEMPORAL_UNAVAILABLE');
    assert.equal(error.retryable, true);
    const attempts = fake.calls.filter((c) => c.method === 'ListWorkflowExecutions').length - listsBefore;
    assert.ok(attempts >= 2 && attempts < 10, `the client retried a few times (${attempts}), then gave up to the worker`);
    fake.clearFailures();
  });

  it('aborting the task cancels the result long poll at once', async () => {
    await run(runWorkflow, { workflowType: 'greet', workflowId: 'wf-abort', taskQueue: 'q1' }, ctx);
    const controller = new AbortController();
    const pending = runError(getResult, { workflowId: 'wf-abort' }, context({ address: fake.address, signal: controller.signal }));
    await until(() => fake.waiting > 0, 'a waiting long poll');
    const started = Date.now();
    controller.abort(new Error('deadline'));
    const error = await pending;
    assert.equal(error.code, 'PAR_ERR_TASK_CANCELLED');
    assert.ok(Date.now() - started < 2000, 'the action returned promptly');
    await until(() => fake.waiting === 0, 'the long poll to end');
  });

  it('the vendor token form {address} connects in plain text', async () => {
    const out = await run(listWorkflows, { query: "WorkflowId = 'wf-1'" }, context({ credentials: tokens({ address: fake.address }) }));
    assert.equal(out.workflows.length, 1);
  });

  it('a connection idle for idleCloseMs is closed when another credential set is used (rotation leaves no channel behind)', async () => {
    const b = createTemporalBundle({ connection: { idleCloseMs: 300 } });
    const other = await startFakeTemporalServer();
    try {
      const list = b.actions[1]!;
      const checks = () => fake.calls.filter((c) => c.method === 'GetSystemInfo').length;
      const first = checks();
      await run(list, {}, ctx);
      await run(list, {}, ctx);
      assert.equal(checks(), first + 1, 'reused while in use');
      const usedAt = Date.now();
      await until(() => Date.now() - usedAt >= 400, 'the idle period to pass');
      await run(list, {}, context({ credentials: tokens({ address: other.address }) }));
      assert.equal(b.connections.size, 1, 'the idle connection was closed');
      await run(list, {}, ctx);
      assert.equal(checks(), first + 2, 'the first credential set connected anew');
    } finally {
      await b.close();
      await other.close();
    }
  });

  it('an unreachable address is PAR_ERR_TEMPORAL_UNAVAILABLE (retryable) and leaves no cached connection', async () => {
    const port = await freePort();
    const b = createTemporalBundle({ connection: { connectTimeoutMs: 2000 } });
    try {
      const error = await runError(b.actions[1]!, {}, context({ address: `127.0.0.1:${port}` }));
      assert.equal(error.code, 'PAR_ERR_TEMPORAL_UNAVAILABLE');
      assert.equal(error.retryable, true);
      assert.doesNotMatch(error.message, new RegExp(String(port)));
      assert.equal(b.connections.size, 0);
    } finally {
      await b.close();
    }
  });

  it('malformed credentials are refused before connecting, naming the token only', async () => {
    const noKey = await runError(
      listWorkflows,
      {},
      context({ credentials: tokens({ serverAddress: fake.address, clientCertPairCrt: 'x' }) }),
    );
    assert.equal(noKey.code, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID');
    const badCa = await runError(
      listWorkflows,
      {},
      context({ credentials: tokens({ serverAddress: fake.address, serverRootCACertificate: 'not-a-pem-ca-value' }) }),
    );
    assert.match(badCa.message, /serverRootCACertificate/);
    assert.doesNotMatch(badCa.message, /not-a-pem-ca-value/);
    const none = await runError(listWorkflows, {}, context({}));
    assert.equal(none.code, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID');
    const basic = toCredentials({ auth_type: 'Basic Auth', credentials: [{ username: 'u', password: 'p' }] });
    assert.ok(basic.ok);
    assert.equal((await runError(listWorkflows, {}, context({ credentials: basic.value }))).code, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID');
  });
});

describe('temporal bundle against the fake frontend over TLS and mTLS', () => {
  let certs: TemporalTestCerts;
  let tlsFake: FakeTemporalServer;
  let mtlsFake: FakeTemporalServer;
  let bundle: TemporalBundle;
  let list: RegisteredAction;

  before(async () => {
    certs = await makeTemporalCerts();
    tlsFake = await startFakeTemporalServer({ cert: certs.serverCert, key: certs.serverKey });
    mtlsFake = await startFakeTemporalServer({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert });
    tlsFake.seed('tls-wf', 'greet');
    mtlsFake.seed('mtls-wf', 'greet');
    bundle = createTemporalBundle({ connection: { connectTimeoutMs: 3000 } });
    list = bundle.actions[1]!;
  });
  after(async () => {
    await bundle.close();
    await tlsFake.close();
    await mtlsFake.close();
  });

  it('TLS with the vendor file temporal_TLS_token.json tokens (CA + serverNameOverride)', async () => {
    const out = await list.run(
      { query: '', namespace: 'default' },
      context({
        credentials: tokens({ serverAddress: tlsFake.address, serverNameOverride: SERVER_NAME, serverRootCACertificate: certs.caCert }),
      }),
    );
    assert.deepEqual(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (out as any).workflows.map((w: any) => w.execution.workflow_id),
      ['tls-wf'],
    );
  });

  it('TLS against an untrusted CA or the wrong name is PAR_ERR_TEMPORAL_TLS, not retried', async () => {
    const untrusted = await runError(
      list,
      {},
      context({
        credentials: tokens({
          serverAddress: tlsFake.address,
          serverNameOverride: SERVER_NAME,
          serverRootCACertificate: certs.otherCaCert,
        }),
      }),
    );
    assert.equal(untrusted.code, 'PAR_ERR_TEMPORAL_TLS');
    assert.equal(untrusted.retryable, false);
    const wrongName = await runError(
      list,
      {},
      context({
        credentials: tokens({ serverAddress: tlsFake.address, serverNameOverride: 'other.test', serverRootCACertificate: certs.caCert }),
      }),
    );
    assert.equal(wrongName.code, 'PAR_ERR_TEMPORAL_TLS');
  });

  it('mTLS with the vendor file temporal_mTLS_token.json tokens: the server sees the client certificate', async () => {
    const creds = tokens({
      serverAddress: mtlsFake.address,
      serverNameOverride: SERVER_NAME,
      serverRootCACertificate: certs.caCert,
      clientCertPairCrt: certs.clientCert,
      clientCertPairKey: certs.clientKey,
    });
    const out = await list.run({ query: '', namespace: 'default' }, context({ credentials: creds }));
    assert.equal((out as { workflows: unknown[] }).workflows.length, 1);
    assert.equal(mtlsFake.calls.at(-1)!.clientCertSubject, 'client');
  });

  it('mTLS without a client certificate, or with one from another CA, is refused', async () => {
    const before = mtlsFake.calls.length;
    const none = await runError(
      list,
      {},
      context({
        credentials: tokens({ serverAddress: mtlsFake.address, serverNameOverride: SERVER_NAME, serverRootCACertificate: certs.caCert }),
      }),
    );
    assert.ok(['PAR_ERR_TEMPORAL_TLS', 'PAR_ERR_TEMPORAL_UNAVAILABLE'].includes(none.code), none.message);
    const other = await runError(
      list,
      {},
      context({
        credentials: tokens({
          serverAddress: mtlsFake.address,
          serverNameOverride: SERVER_NAME,
          serverRootCACertificate: certs.caCert,
          clientCertPairCrt: certs.otherClientCert,
          clientCertPairKey: certs.otherClientKey,
        }),
      }),
    );
    assert.ok(['PAR_ERR_TEMPORAL_TLS', 'PAR_ERR_TEMPORAL_UNAVAILABLE'].includes(other.code), other.message);
    assert.equal(mtlsFake.calls.length, before, 'no call reached the server');
  });
});
