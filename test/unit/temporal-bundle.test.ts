/**
 * The Temporal bundle's pure parts: reading the vendor's credential files, the error
 * classification, the vendor's JSON shape of listed executions, input defaults.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import proto from '@temporalio/proto';
import { toCredentials } from '../../src/actions/credentials.js';
import { type Credentials } from '../../src/contracts/credentials.js';
import { resultText } from '../../src/actions/temporal/actions.js';
import { classifyTemporalError, GrpcStatus } from '../../src/actions/temporal/classify.js';
import { settingsFromTask, settingsKey } from '../../src/actions/temporal/connection-settings.js';
import { goJsonExecutionInfo, snakeCase, type ReflectType } from '../../src/actions/temporal/execution-info.js';
import { getWorkflowResultInputSchema, listWorkflowsInputSchema, runWorkflowInputSchema } from '../../src/actions/temporal/inputs.js';
import { ParError } from '../../src/errors/par-error.js';
import { makeTemporalCerts, type TemporalTestCerts } from '../fakes/temporal-certs.js';

const FIXTURES = new URL('../fixtures/vendor-credentials/', import.meta.url);

function tokens(values: Record<string, string>): Credentials {
  const parsed = toCredentials({
    auth_type: 'Token Auth',
    credentials: Object.entries(values).map(([tokenName, tokenValue]) => ({ tokenName, tokenValue })),
  });
  assert.ok(parsed.ok);
  return parsed.value;
}

async function vendorFile(name: string, values: Record<string, string>): Promise<Credentials> {
  let text = await readFile(new URL(name, FIXTURES), 'utf8');
  for (const [placeholder, value] of Object.entries(values)) text = text.replace(`"${placeholder}"`, JSON.stringify(value));
  const parsed = toCredentials(JSON.parse(text));
  assert.ok(parsed.ok);
  return parsed.value;
}

function refusal(fn: () => unknown): ParError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ParError);
    return error;
  }
  assert.fail('not refused');
}

const live = new AbortController().signal;

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

describe('temporal connection settings', () => {
  let certs: TemporalTestCerts;
  before(async () => {
    certs = await makeTemporalCerts();
  });

  it("reads the vendor's temporal_mTLS_token.json", async () => {
    const creds = await vendorFile('temporal_mTLS_token.json', {
      SERVER_ADDRESS: 'temporal.example:7233',
      SERVER_NAME_OVERRIDE: 'temporal.test',
      SERVER_ROOT_CA_CERTIFICATE: certs.caCert,
      CLIENT_CERTIFICATE: certs.clientCert,
      CLIENT_KEY: certs.clientKey,
    });
    assert.deepEqual(settingsFromTask(creds, undefined), {
      address: 'temporal.example:7233',
      tls: {
        serverNameOverride: 'temporal.test',
        serverRootCACertificate: certs.caCert,
        clientCertPair: { crt: certs.clientCert, key: certs.clientKey },
      },
      apiKey: undefined,
    });
  });

  it("reads the vendor's temporal_TLS_token.json; an empty CA means the system roots", async () => {
    const creds = await vendorFile('temporal_TLS_token.json', {
      SERVER_ADDRESS: 'temporal.example:7233',
      SERVER_NAME_OVERRIDE: '',
      SERVER_ROOT_CA_CERTIFICATE: '',
    });
    assert.deepEqual(settingsFromTask(creds, undefined), {
      address: 'temporal.example:7233',
      tls: { serverNameOverride: undefined, serverRootCACertificate: undefined, clientCertPair: undefined },
      apiKey: undefined,
    });
  });

  it('serverAddress always means TLS; apiKey is kept', () => {
    const s = settingsFromTask(tokens({ serverAddress: 'ns.tmprl.cloud:7233', apiKey: 'key-1' }), undefined);
    assert.ok(s.tls);
    assert.equal(s.apiKey, 'key-1');
  });

  it('the vendor token `address` means plain text and wins over the rest', () => {
    assert.deepEqual(settingsFromTask(tokens({ address: '10.0.0.5:7233', serverAddress: 'other:1' }), undefined), {
      address: '10.0.0.5:7233',
    });
  });

  it('without credentials, the connection setting `address` (no auth)', () => {
    assert.deepEqual(settingsFromTask(undefined, { id: 'c', integration: 'temporal', settings: { address: 'localhost:7233' } }), {
      address: 'localhost:7233',
    });
    assert.equal(
      refusal(() => settingsFromTask(undefined, { id: 'c', integration: 'temporal' })).code,
      'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID',
    );
  });

  it('refuses malformed files, naming the token and never its value', () => {
    const cases: Array<[Credentials, RegExp]> = [
      [tokens({ serverNameOverride: 'x' }), /serverAddress/],
      [tokens({ serverAddress: 'h:1', clientCertPairCrt: certs.clientCert }), /clientCertPairCrt.*clientCertPairKey/],
      [
        tokens({ serverAddress: 'h:1', clientCertPairCrt: certs.clientCert, clientCertPairKey: 'secret-key-material-x' }),
        /clientCertPairKey/,
      ],
      [
        tokens({ serverAddress: 'h:1', clientCertPairCrt: 'secret-cert-material-x', clientCertPairKey: certs.clientKey }),
        /clientCertPairCrt/,
      ],
      [tokens({ serverAddress: 'h:1', serverRootCACertificate: 'secret-ca-material-x' }), /serverRootCACertificate/],
      [tokens({ serverAddress: 'https://h:1/path' }), /serverAddress/],
      [tokens({ address: 'h 1' }), /address/],
    ];
    for (const [creds, pattern] of cases) {
      const error = refusal(() => settingsFromTask(creds, undefined));
      assert.equal(error.code, 'PAR_ERR_TEMPORAL_CREDENTIALS_INVALID');
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /secret-|BEGIN/);
    }
    const basic = toCredentials({ auth_type: 'Basic Auth', credentials: [{ username: 'u', password: 'p' }] });
    assert.ok(basic.ok);
    assert.match(refusal(() => settingsFromTask(basic.value, undefined)).message, /Token Auth/);
  });

  it('the cache key differs per credential set and holds no value', () => {
    const a = settingsFromTask(tokens({ serverAddress: 'h:1', apiKey: 'key-a' }), undefined);
    const b = settingsFromTask(tokens({ serverAddress: 'h:1', apiKey: 'key-b' }), undefined);
    assert.notEqual(settingsKey(a), settingsKey(b));
    assert.equal(settingsKey(a), settingsKey(settingsFromTask(tokens({ serverAddress: 'h:1', apiKey: 'key-a' }), undefined)));
    assert.match(settingsKey(a), /^[0-9a-f]{64}$/);
  });
});

describe('temporal error classification', () => {
  const ctx = { signal: live, operation: 'StartWorkflowExecution' };
  it('maps gRPC statuses to codes, retryable where the vendor retries', () => {
    const expected: Array<[number, string, boolean]> = [
      [GrpcStatus.UNAVAILABLE, 'PAR_ERR_TEMPORAL_UNAVAILABLE', true],
      [GrpcStatus.RESOURCE_EXHAUSTED, 'PAR_ERR_TEMPORAL_UNAVAILABLE', true],
      [GrpcStatus.ABORTED, 'PAR_ERR_TEMPORAL_UNAVAILABLE', true],
      [GrpcStatus.DEADLINE_EXCEEDED, 'PAR_ERR_TEMPORAL_UNAVAILABLE', true],
      [GrpcStatus.INTERNAL, 'PAR_ERR_TEMPORAL_UNAVAILABLE', true],
      [GrpcStatus.NOT_FOUND, 'PAR_ERR_TEMPORAL_NOT_FOUND', false],
      [GrpcStatus.INVALID_ARGUMENT, 'PAR_ERR_TEMPORAL_INVALID', false],
      [GrpcStatus.FAILED_PRECONDITION, 'PAR_ERR_TEMPORAL_INVALID', false],
      [GrpcStatus.ALREADY_EXISTS, 'PAR_ERR_TEMPORAL_ALREADY_STARTED', false],
      [GrpcStatus.PERMISSION_DENIED, 'PAR_ERR_TEMPORAL_UNAUTHORIZED', false],
      [GrpcStatus.UNAUTHENTICATED, 'PAR_ERR_TEMPORAL_UNAUTHORIZED', false],
      [GrpcStatus.UNIMPLEMENTED, 'PAR_ERR_TEMPORAL_RPC_FAILED', false],
    ];
    for (const [status, code, retryable] of expected) {
      const error = classifyTemporalError(grpcError(status, 'why'), ctx);
      assert.equal(error.code, code, `status ${status}`);
      assert.equal(error.retryable, retryable, `status ${status}`);
    }
  });

  it('finds the status in the cause of the client wrappers; keeps server details, drops socket details', () => {
    const wrapped = Object.assign(new Error('Failed to list workflows'), {
      name: 'ServiceError',
      cause: grpcError(GrpcStatus.NOT_FOUND, 'Namespace x is not found.'),
    });
    assert.match(classifyTemporalError(wrapped, ctx).message, /NOT_FOUND: Namespace x is not found/);
    const socket = classifyTemporalError(
      grpcError(GrpcStatus.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 10.1.2.3:7233'),
      ctx,
    );
    assert.doesNotMatch(socket.message, /10\.1\.2\.3/);
  });

  it('a TLS handshake failure is PAR_ERR_TEMPORAL_TLS, not retried', () => {
    const error = classifyTemporalError(
      grpcError(GrpcStatus.UNAVAILABLE, 'No connection established. Last error: Error: unable to verify the first certificate'),
      ctx,
    );
    assert.equal(error.code, 'PAR_ERR_TEMPORAL_TLS');
    assert.equal(error.retryable, false);
  });

  it('workflow outcomes, the SDK not-found and already-started errors, an aborted task', () => {
    const failed = Object.assign(new Error('Workflow execution failed'), { name: 'WorkflowFailedError', cause: new Error('boom') });
    const f = classifyTemporalError(failed, ctx);
    assert.equal(f.code, 'PAR_ERR_TEMPORAL_WORKFLOW_FAILED');
    assert.match(f.message, /Workflow execution failed: boom/);
    assert.equal(
      classifyTemporalError(Object.assign(new Error('gone'), { name: 'WorkflowNotFoundError' }), ctx).code,
      'PAR_ERR_TEMPORAL_NOT_FOUND',
    );
    assert.equal(
      classifyTemporalError(Object.assign(new Error('dup'), { name: 'WorkflowExecutionAlreadyStartedError' }), ctx).code,
      'PAR_ERR_TEMPORAL_ALREADY_STARTED',
    );
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(
      classifyTemporalError(grpcError(GrpcStatus.CANCELLED, 'Cancelled on client'), { ...ctx, signal: aborted.signal }).code,
      'PAR_ERR_TASK_CANCELLED',
    );
    assert.equal(classifyTemporalError(new TypeError('bad payload'), ctx).code, 'PAR_ERR_TEMPORAL_RPC_FAILED');
  });
});

describe('temporal listed executions in the vendor shape', () => {
  it('snake-cases field names, keeps map keys, numbers for enums and int64, base64 for bytes', () => {
    const type = proto.temporal.api.workflow.v1.WorkflowExecutionInfo as unknown as ReflectType & { fromObject(o: unknown): unknown };
    const message = type.fromObject({
      execution: { workflowId: 'w', runId: 'r' },
      type: { name: 'greet' },
      startTime: { seconds: 1700000000, nanos: 5 },
      status: 2,
      historyLength: 12,
      memo: { fields: { ownerTeam: { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"sre"') } } },
    });
    assert.deepEqual(goJsonExecutionInfo(type, message), {
      execution: { workflow_id: 'w', run_id: 'r' },
      type: { name: 'greet' },
      start_time: { seconds: 1700000000, nanos: 5 },
      status: 2,
      history_length: 12,
      memo: {
        fields: {
          ownerTeam: {
            metadata: { encoding: Buffer.from('json/plain').toString('base64') },
            data: Buffer.from('"sre"').toString('base64'),
          },
        },
      },
    });
    assert.equal(snakeCase('historySizeBytes'), 'history_size_bytes');
  });
});

describe('temporal inputs and outputs', () => {
  it('namespace defaults to "default"; workflowType and taskQueue are required', () => {
    assert.equal(listWorkflowsInputSchema.parse({}).namespace, 'default');
    assert.equal(listWorkflowsInputSchema.parse({ namespace: '' }).namespace, 'default');
    assert.equal(getWorkflowResultInputSchema.parse({ workflowId: 'w', namespace: 'p' }).namespace, 'p');
    assert.deepEqual(runWorkflowInputSchema.parse({ workflowType: 't', taskQueue: 'q' }).workflowArgs, []);
    assert.equal(runWorkflowInputSchema.safeParse({ taskQueue: 'q' }).success, false);
    assert.equal(runWorkflowInputSchema.safeParse({ workflowType: 't' }).success, false);
    assert.equal(getWorkflowResultInputSchema.safeParse({}).success, false);
  });

  it('executionResult is a string: strings as they are, other JSON values as JSON text, none as ""', () => {
    assert.equal(resultText('done'), 'done');
    assert.equal(resultText({ a: 1 }), '{"a":1}');
    assert.equal(resultText(3), '3');
    assert.equal(resultText(null), '');
    assert.equal(resultText(undefined), '');
  });
});

describe('temporal client loading', () => {
  it('a worker registry does not load @temporalio/client until a Temporal task runs', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = [
      "import { createRequire } from 'node:module';",
      "const { createActionRegistry } = await import('./src/actions/registry.ts');",
      'const registry = createActionRegistry();',
      "const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@temporalio'));",
      'const before = loaded();',
      "const { loadTemporalClient } = await import('./src/actions/temporal/connections.ts');",
      'await loadTemporalClient();',
      'console.log(JSON.stringify({ fqns: registry.fqns.filter((f) => f.includes("temporal")), before, after: loaded() }));',
      'await registry.close();',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { fqns: string[]; before: boolean; after: boolean };
    assert.equal(result.fqns.length, 3);
    assert.equal(result.before, false, 'loaded at registry creation');
    assert.equal(result.after, true, 'the check can see the client once loaded');
  });
});
