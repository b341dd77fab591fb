/**
 * Tracing (issue 11), the parts without spans: the OTEL_* settings, traceparent parsing, the
 * optional traceparent claim of signed tasks, our spelt-out semconv names, and that a process
 * with tracing off never loads the OpenTelemetry SDK (checked in a fresh node process: the SDK
 * packages are CommonJS, so once loaded their files are in the module cache).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import { SignJWT } from 'jose';
import { loadTracingConfig } from '../../src/config/tracing.js';
import { loadDevConfig } from '../../src/config/dev.js';
import { isWorkerSecretEnv, scrubWorkerEnv } from '../../src/config/worker-secrets.js';
import { TASK_ISSUER, TASK_TYP } from '../../src/contracts/runner-api.js';
import { claimsToTask } from '../../src/contracts/task.js';
import { generateSigningKeyPair, importSigningKey, publicPart } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';
import { SEMCONV } from '../../src/tracing/attributes.js';
import { contextFromTraceparent, formatTraceparent } from '../../src/tracing/trace-context.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('tracing settings (OTEL_*)', () => {
  test('off by default, and off whenever OTEL_SDK_DISABLED=true or the exporter is none', () => {
    assert.deepEqual(loadTracingConfig({}, 'par-worker'), { enabled: false });
    assert.deepEqual(loadTracingConfig({ OTEL_SERVICE_NAME: 'x' }, 'par-worker'), { enabled: false });
    assert.deepEqual(loadTracingConfig({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, 'par-worker'), { enabled: false });
    assert.deepEqual(loadTracingConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'par-worker'), {
      enabled: false,
    });
  });

  test('an endpoint alone turns OTLP on; the traces endpoint wins; the default service name applies', () => {
    assert.deepEqual(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }, 'par-runner'), {
      enabled: true,
      serviceName: 'par-runner',
      exporters: ['otlp'],
      otlpUrl: 'http://c:4318/v1/traces',
      headers: {},
    });
    const c = loadTracingConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t/x',
        OTEL_SERVICE_NAME: 'mine',
        OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=x%20y',
      },
      'par-runner',
    );
    assert.deepEqual(c, { enabled: true, serviceName: 'mine', exporters: ['otlp'], otlpUrl: 'https://t/x', headers: { a: '1', b: 'x y' } });
    assert.deepEqual(loadTracingConfig({ OTEL_TRACES_EXPORTER: 'console' }, 'par-control-plane'), {
      enabled: true,
      serviceName: 'par-control-plane',
      exporters: ['console'],
      headers: {},
    });
    assert.deepEqual(loadTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp' }, 'w'), {
      enabled: true,
      serviceName: 'w',
      exporters: ['otlp'],
      otlpUrl: 'http://localhost:4318/v1/traces',
      headers: {},
    });
  });

  test('bad values fail fast naming the variable, never quoting a header value', () => {
    assert.throws(() => loadTracingConfig({ OTEL_TRACES_EXPORTER: 'zipkin' }, 'w'), {
      code: 'PAR_ERR_CONFIG_INVALID',
      message: /OTEL_TRACES_EXPORTER/,
    });
    assert.throws(() => loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c' }, 'w'), {
      code: 'PAR_ERR_CONFIG_INVALID',
      message: /OTEL_EXPORTER_OTLP_ENDPOINT/,
    });
    assert.throws(() => loadTracingConfig({ OTEL_SDK_DISABLED: 'maybe' }, 'w'), {
      code: 'PAR_ERR_CONFIG_INVALID',
      message: /OTEL_SDK_DISABLED/,
    });
    assert.throws(() => loadTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'w'), {
      code: 'PAR_ERR_CONFIG_INVALID',
      message: /OTEL_EXPORTER_OTLP_PROTOCOL: .*grpc is not supported/,
    });
    assert.equal(loadTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'w').enabled, true);
    assert.throws(
      () => loadTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_HEADERS: 'sekrit-token' }, 'w'),
      (e: Error) => /OTEL_EXPORTER_OTLP_HEADERS/.test(e.message) && !e.message.includes('sekrit'),
    );
  });
});

describe('par start', () => {
  test('passes the OTEL_* variables (and only those) on to its processes', () => {
    const config = loadDevConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      PAR_WORKERS: '1',
      DD_API_KEY: 'k',
    });
    assert.deepEqual(config.otelEnv, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' });
    assert.deepEqual(loadDevConfig({}).otelEnv, {});
  });
});

describe('collector credentials in a worker', () => {
  test('read into the tracing config, then removed from the worker environment (no script can ask for them)', () => {
    const env: Record<string, string | undefined> = {
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20x',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'k=v',
      OTEL_SERVICE_NAME: 'w1',
    };
    const config = loadTracingConfig({ ...env, OTEL_TRACES_EXPORTER: 'otlp' }, 'par-worker');
    assert.deepEqual(config.enabled && config.headers, { k: 'v' }, 'the traces-specific variable wins');
    scrubWorkerEnv(env);
    assert.deepEqual(env, { OTEL_SERVICE_NAME: 'w1' });
    assert.ok(isWorkerSecretEnv('OTEL_EXPORTER_OTLP_HEADERS') && !isWorkerSecretEnv('OTEL_SERVICE_NAME'));
  });
});

describe('traceparent', () => {
  test('parsed into a remote parent and formatted back', () => {
    const ctx = contextFromTraceparent(TP);
    const sc = trace.getSpanContext(ctx)!;
    assert.deepEqual(sc, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    assert.equal(formatTraceparent(sc), TP);
  });

  test('absent or malformed: no parent (a new trace), never an error', () => {
    for (const bad of [
      undefined,
      42,
      '',
      'garbage',
      TP.toUpperCase(),
      `${TP}-extra`,
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    ]) {
      assert.equal(contextFromTraceparent(bad), ROOT_CONTEXT, String(bad));
    }
  });
});

describe('the traceparent claim of a signed task', () => {
  const base = { sub: 't1', aud: 'r1', org: 'o1', action: 'com.datadoghq.http.request', inputs: {}, timeoutMs: 1000 };
  const setup = async () => {
    const k = await generateSigningKeyPair();
    const key = await importSigningKey(k.privateJwk);
    const verifier = new TaskVerifier({ keys: [{ ...publicPart(k.publicJwk), kty: 'OKP' }] });
    return { k, key, verifier };
  };

  test('signed in, verified out; a task without it stays valid', async () => {
    const { k, key, verifier } = await setup();
    const signer = new TaskSigner(key, k.kid);
    const withTp = await verifier.verify(await signer.sign({ ...base, traceparent: TP }, 60_000), { runnerId: 'r1', checkExpiry: true });
    assert.equal(withTp.traceparent, TP);
    assert.equal(claimsToTask(withTp).traceparent, TP);
    const without = await verifier.verify(await signer.sign(base, 60_000), { runnerId: 'r1', checkExpiry: true });
    assert.equal(without.traceparent, undefined);
    assert.equal('traceparent' in claimsToTask(without), false);
  });

  test('a malformed traceparent does not make a task invalid: it is dropped (not a string) or ignored as a parent', async () => {
    const { k, key, verifier } = await setup();
    for (const [traceparent, kept] of [
      [12345, undefined],
      ['x'.repeat(300), undefined],
      ['not-a-traceparent', 'not-a-traceparent'],
    ] as const) {
      const jws = await new SignJWT({ org: 'o1', action: base.action, inputs: {}, timeoutMs: 1000, traceparent })
        .setProtectedHeader({ alg: 'EdDSA', kid: k.kid, typ: TASK_TYP })
        .setIssuer(TASK_ISSUER)
        .setSubject('t1')
        .setAudience('r1')
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(key);
      const claims = await verifier.verify(jws, { runnerId: 'r1', checkExpiry: true });
      assert.equal(claims.traceparent, kept);
      assert.equal(contextFromTraceparent(claims.traceparent), ROOT_CONTEXT);
    }
  });
});

describe('names', () => {
  test("the semconv names spelt out in attributes.ts are the package's", () => {
    assert.deepEqual(SEMCONV, {
      httpRequestMethod: ATTR_HTTP_REQUEST_METHOD,
      httpResponseStatusCode: ATTR_HTTP_RESPONSE_STATUS_CODE,
      serverAddress: ATTR_SERVER_ADDRESS,
      serverPort: ATTR_SERVER_PORT,
      urlScheme: ATTR_URL_SCHEME,
      errorType: ATTR_ERROR_TYPE,
      serviceName: ATTR_SERVICE_NAME,
    });
  });
});

describe('loading the SDK', () => {
  const script = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loaded = (pkg) => Object.keys(require('node:module')._cache).some((k) => k.includes('/node_modules/@opentelemetry/' + pkg + '/'));
const { loadTracingConfig } = await import('./src/config/tracing.ts');
const { startTracing } = await import('./src/tracing/start.ts');
const { createRootLogger } = await import('./src/logging/logger.ts');
// What each process imports whether it traces or not: the span code of all three.
await import('./src/control-plane/task-submission.ts');
await import('./src/runner/intake.ts');
await import('./workers/task-processor.ts');
await import('./src/actions/http/exchange.ts');
const tracing = await startTracing(loadTracingConfig(JSON.parse(process.argv[1]), 'par-worker'), createRootLogger({ process: 'worker', level: 'silent' }));
const report = { enabled: tracing.enabled, api: loaded('api'), sdk: loaded('sdk-trace-base') || loaded('sdk-trace'), exporter: loaded('exporter-trace-otlp-http'), resources: loaded('resources') };
await tracing.shutdown();
console.log(JSON.stringify(report));
`;
  const run = async (env: Record<string, string>) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(env)],
      { cwd: root, timeout: 60_000 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, boolean>;
  };

  test('tracing off: only @opentelemetry/api is loaded, not the SDK, the exporter or resources', async () => {
    assert.deepEqual(await run({}), { enabled: false, api: true, sdk: false, exporter: false, resources: false });
  });

  test('tracing on: the SDK is loaded (so the check above can see it)', async () => {
    assert.deepEqual(await run({ OTEL_TRACES_EXPORTER: 'console' }), {
      enabled: true,
      api: true,
      sdk: true,
      exporter: true,
      resources: true,
    });
  });
});
