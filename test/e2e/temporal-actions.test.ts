/**
 * com.datadoghq.temporal end to end: real control plane, runner and worker processes, the
 * vendor-format mTLS credential file only in the runner's config dir, against the FAKE Temporal
 * frontend (test/fakes/temporal-server.ts: grpc-js serving WorkflowService from the published
 * protos; no Temporal server can be installed here), with certificates made by openssl. A second
 * connection uses the no-auth form: the address as a connection setting.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { waitUntil } from '../helpers/wait.js';
import { startFakeTemporalServer, WorkflowStatus, type FakeTemporalServer } from '../fakes/temporal-server.js';
import { makeTemporalCerts, SERVER_NAME, tokenAuthFile, type TemporalTestCerts } from '../fakes/temporal-certs.js';
import { assertNothingLeaked, secretForms } from '../security/exposure.js';

const RUN = 'com.datadoghq.temporal.runWorkflow';
const LIST = 'com.datadoghq.temporal.listWorkflows';
const RESULT = 'com.datadoghq.temporal.getWorkflowResult';

describe('temporal actions end to end (fake Temporal frontend)', () => {
  let system: System;
  let certs: TemporalTestCerts;
  let mtls: FakeTemporalServer;
  let plain: FakeTemporalServer;
  let mtlsConnection: string;
  let plainConnection: string;

  const submit = async (action: string, connectionId: string, inputs: Record<string, unknown>, timeoutMs = 15_000) => {
    const task = await system.api.submitTask({ runner: system.runnerName, action, connectionId, inputs, timeoutMs });
    return task.id;
  };

  before(async () => {
    certs = await makeTemporalCerts();
    mtls = await startFakeTemporalServer({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert, longPollMs: 2000 });
    plain = await startFakeTemporalServer({ longPollMs: 2000 });
    system = await startSystem({ workers: 1, allowlist: 'com.datadoghq.temporal.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    // The vendor's documented temporal_mTLS_token.json, with real values.
    await writeFile(
      join(system.configDir, 'credentials', 'temporal_mTLS_token.json'),
      tokenAuthFile({
        serverAddress: mtls.address,
        serverNameOverride: SERVER_NAME,
        serverRootCACertificate: certs.caCert,
        clientCertPairCrt: certs.clientCert,
        clientCertPairKey: certs.clientKey,
      }),
    );
    mtlsConnection = await system.createConnection({
      integration: 'temporal',
      name: 'temporal-mtls',
      credentialPath: 'credentials/temporal_mTLS_token.json',
    });
    plainConnection = await system.createConnection({
      integration: 'temporal',
      name: 'temporal-plain',
      settings: { address: plain.address },
    });
  });

  after(async () => {
    await system.stop();
    await mtls.close();
    await plain.close();
  });

  test('runWorkflow over mTLS starts the workflow; the frontend saw the client certificate', async () => {
    const id = await submit(RUN, mtlsConnection, {
      workflowType: 'deploy',
      workflowArgs: [{ service: 'checkout' }],
      workflowId: 'e2e-deploy',
      taskQueue: 'ops',
    });
    const done = await system.api.waitForTask(id, 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const run = mtls.current('e2e-deploy')!;
    assert.deepEqual(done.outcome?.output, { runId: run.runId });
    assert.equal(mtls.calls.findLast((c) => c.method === 'StartWorkflowExecution')!.clientCertSubject, 'client');
  });

  test('getWorkflowResult waits for the workflow to complete and returns its result', async () => {
    const id = await submit(RESULT, mtlsConnection, { workflowId: 'e2e-deploy' }, 30_000);
    await waitUntil(() => (mtls.waiting > 0 ? true : undefined), 20_000, 'the result long poll');
    mtls.complete('e2e-deploy', 'deployed checkout');
    const done = await system.api.waitForTask(id, 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    assert.deepEqual(done.outcome?.output, { executionResult: 'deployed checkout' });
  });

  test('listWorkflows over the no-auth connection (address setting)', async () => {
    plain.seed('e2e-a', 'report', { taskQueue: 'reports' });
    plain.seed('e2e-b', 'cleanup');
    const id = await submit(LIST, plainConnection, { query: "WorkflowType = 'report'" });
    const done = await system.api.waitForTask(id, 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const workflows = (done.outcome?.output as { workflows: Array<Record<string, any>> }).workflows; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(workflows.length, 1);
    assert.equal(workflows[0]!['execution'].workflow_id, 'e2e-a');
    assert.equal(workflows[0]!['status'], WorkflowStatus.RUNNING);
    assert.equal(workflows[0]!['task_queue'], 'reports');
  });

  test('an unknown workflow fails with PAR_ERR_TEMPORAL_NOT_FOUND, not retried', async () => {
    const id = await submit(RESULT, plainConnection, { workflowId: 'no-such-workflow' });
    const done = await system.api.waitForTask(id, 30_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.error?.code, 'PAR_ERR_TEMPORAL_NOT_FOUND');
    assert.equal(done.outcome.error.retryable, false);
  });

  test('the task deadline cancels the result long poll on the frontend', async () => {
    plain.seed('e2e-forever', 'wait');
    const id = await submit(RESULT, plainConnection, { workflowId: 'e2e-forever' }, 3_000);
    await waitUntil(() => (plain.waiting > 0 ? true : undefined), 20_000, 'the result long poll');
    const done = await system.api.waitForTask(id, 30_000);
    assert.equal(done.state, 'failed');
    assert.equal(done.outcome?.kind, 'timedOut', JSON.stringify(done.outcome));
    await waitUntil(() => (plain.waiting === 0 ? true : undefined), 10_000, 'the long poll to be cancelled');
  });

  test('no key, certificate or CA from the credential file reaches a result, a log line or Redis', async () => {
    await assertNothingLeaked(system, [certs.clientKey, ...secretForms(certs.clientKey.split('\n')[1]!)]);
  });
});
