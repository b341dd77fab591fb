/**
 * Hostile corpus, family "Temporal credentials and TLS": com.datadoghq.temporal through the real
 * control plane, runner and worker processes against the FAKE Temporal frontend
 * (test/fakes/temporal-server.ts; no Temporal server can be installed here), mTLS with
 * certificates made by openssl for this test. Each case asserts its error code and that the
 * frontend received no call it should not have (a refused handshake or a malformed credential
 * file reaches no RPC); at the end the client key and the API key are in no result, log or Redis
 * key, and every process is healthy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type System } from '../helpers/system.js';
import { startFakeTemporalServer, type FakeTemporalServer } from '../fakes/temporal-server.js';
import { makeTemporalCerts, SERVER_NAME, tokenAuthFile, type TemporalTestCerts } from '../fakes/temporal-certs.js';
import { assertNoSecretIn, assertNothingLeaked, secretForms } from './exposure.js';

const LIST = 'com.datadoghq.temporal.listWorkflows';
const RUN = 'com.datadoghq.temporal.runWorkflow';

describe('security: Temporal credentials and TLS', () => {
  const apiKey = `tmprl-secret-${randomBytes(12).toString('hex')}`;
  let certs: TemporalTestCerts;
  let secrets: string[];
  let system: System;
  let mtls: FakeTemporalServer;
  let plain: FakeTemporalServer;
  const connections = new Map<string, string>();

  const file = async (name: string, tokens: Record<string, string>) => {
    await writeFile(join(system.configDir, 'credentials', `${name}.json`), tokenAuthFile(tokens));
    connections.set(name, await system.createConnection({ integration: 'temporal', name, credentialPath: `credentials/${name}.json` }));
  };
  const good = () => ({
    serverAddress: mtls.address,
    serverNameOverride: SERVER_NAME,
    serverRootCACertificate: certs.caCert,
    clientCertPairCrt: certs.clientCert,
    clientCertPairKey: certs.clientKey,
  });

  async function expectFailure(connection: string, action: string, inputs: Record<string, unknown>, code: string): Promise<void> {
    const mtlsCalls = mtls.calls.length;
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action,
      connectionId: connections.get(connection)!,
      inputs,
      timeoutMs: 15_000,
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assert.equal(done.state, 'failed', JSON.stringify(done.outcome));
    assert.equal(done.outcome?.error?.code, code, JSON.stringify(done.outcome?.error));
    assert.equal(done.outcome.error.retryable, false);
    assertNoSecretIn(done.outcome, secrets, `outcome of ${connection}`);
    if (connection !== 'good') assert.equal(mtls.calls.length, mtlsCalls, `the frontend received a call for ${connection}`);
  }

  before(async () => {
    certs = await makeTemporalCerts();
    const keyBody = certs.clientKey
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    secrets = [...secretForms(apiKey), certs.clientKey, keyBody];
    mtls = await startFakeTemporalServer({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert });
    plain = await startFakeTemporalServer();
    system = await startSystem({ workers: 1, allowlist: 'com.datadoghq.temporal.*' });
    await mkdir(join(system.configDir, 'credentials'), { recursive: true });
    await file('good', { ...good(), apiKey });
    await file('untrusted-ca', { ...good(), serverRootCACertificate: certs.otherCaCert });
    await file('wrong-name', { ...good(), serverNameOverride: 'evil.test' });
    await file('no-client-cert', { serverAddress: mtls.address, serverNameOverride: SERVER_NAME, serverRootCACertificate: certs.caCert });
    await file('key-only', { serverAddress: mtls.address, serverRootCACertificate: certs.caCert, clientCertPairKey: certs.clientKey });
    await file('cert-only', { serverAddress: mtls.address, serverRootCACertificate: certs.caCert, clientCertPairCrt: certs.clientCert });
    await file('garbage-key', { ...good(), clientCertPairKey: `not a key ${apiKey}` });
    await file('swapped-pair', { ...good(), clientCertPairCrt: certs.clientKey, clientCertPairKey: certs.clientCert });
    await file('scheme-address', { ...good(), serverAddress: `https://${mtls.address}/x` });
    await file('ca-is-key', { ...good(), serverRootCACertificate: certs.clientKey });
    await writeFile(
      join(system.configDir, 'credentials', 'basic.json'),
      JSON.stringify({ auth_type: 'Basic Auth', credentials: [{ username: 'u', password: apiKey }] }),
    );
    connections.set(
      'basic',
      await system.createConnection({ integration: 'temporal', name: 'basic', credentialPath: 'credentials/basic.json' }),
    );
    connections.set(
      'plain',
      await system.createConnection({ integration: 'temporal', name: 'plain', settings: { address: plain.address } }),
    );
  });

  after(async () => {
    await system.stop();
    await mtls.close();
    await plain.close();
  });

  test('baseline: the good mTLS file works, and the API key travels only as the bearer header', async () => {
    const task = await system.api.submitTask({
      runner: system.runnerName,
      action: LIST,
      connectionId: connections.get('good')!,
      inputs: {},
      timeoutMs: 15_000,
    });
    const done = await system.api.waitForTask(task.id, 30_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.outcome));
    const call = mtls.calls.at(-1)!;
    assert.equal(call.clientCertSubject, 'client');
    assert.equal(call.metadata['authorization'], `Bearer ${apiKey}`);
  });

  test('a frontend whose certificate does not chain to the configured CA is refused', () =>
    expectFailure('untrusted-ca', LIST, {}, 'PAR_ERR_TEMPORAL_TLS'));
  test('a frontend certificate for another name is refused (serverNameOverride checked)', () =>
    expectFailure('wrong-name', LIST, {}, 'PAR_ERR_TEMPORAL_TLS'));
  test('without a client certificate the mTLS frontend refuses the handshake', () =>
    expectFailure('no-client-cert', RUN, { workflowType: 't', taskQueue: 'q' }, 'PAR_ERR_TEMPORAL_TLS'));
  test('a client key without its certificate is refused before connecting', () =>
    expectFailure('key-only', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('a client certificate without its key is refused before connecting', () =>
    expectFailure('cert-only', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('a key that is not PEM is refused, and its text is not echoed', () =>
    expectFailure('garbage-key', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('a swapped certificate / key pair is refused', () =>
    expectFailure('swapped-pair', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('an address with a scheme and path is refused', () =>
    expectFailure('scheme-address', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('a private key given as the root CA is refused, not echoed', () =>
    expectFailure('ca-is-key', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('a Basic Auth file is refused and its password never echoed', () =>
    expectFailure('basic', LIST, {}, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID'));
  test('a visibility query with an injected OR clause is refused by the frontend', async () => {
    await expectFailure('plain', LIST, { query: "WorkflowId = 'x' OR 1=1" }, 'PAR_ERR_TEMPORAL_INVALID');
  });
  test('a namespace the frontend does not have is NOT_FOUND, nothing started', async () => {
    const before = plain.runs().length;
    await expectFailure('plain', RUN, { workflowType: 't', taskQueue: 'q', namespace: 'other-team' }, 'PAR_ERR_TEMPORAL_NOT_FOUND');
    assert.equal(plain.runs().length, before);
  });

  test('no client key or API key in any result, log line or Redis key; every process healthy', async () => {
    await assertNothingLeaked(system, secrets);
  });
});
