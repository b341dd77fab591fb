/**
 * A FAKE Temporal frontend for tests. No Temporal server can be installed on the test machine,
 * so this stands in for one on loopback: @grpc/grpc-js serving
 * `temporal.api.workflowservice.v1.WorkflowService` over HTTP/2, with the request and response
 * messages encoded and decoded by the published Temporal protos (the protobufjs descriptors that
 * ship in @temporalio/proto). The runner's Temporal bundle talks to it through
 * @temporalio/client unchanged: the client, not our code, speaks the protocol. It is NOT a
 * Temporal server: no workers, no tasks, no persistence, no visibility store.
 *
 * Covered:
 * - GetSystemInfo (the client's connect check), with `capabilities`.
 * - StartWorkflowExecution: namespace must exist (NOT_FOUND), workflow type and task queue must
 *   be set (INVALID_ARGUMENT), a running workflow id is ALREADY_EXISTS unless the request id
 *   repeats (the server's idempotent retry), input payloads stored as sent.
 * - GetWorkflowExecutionHistory with `historyEventFilterType = CLOSE_EVENT` and `waitNewEvent`:
 *   empty run id = the current run; a long poll that answers with the close event when the test
 *   closes the workflow, or with no events and a next page token after `longPollMs` (as the real
 *   server does); cancelled calls stop waiting. NOT_FOUND for an unknown workflow or run.
 * - ListWorkflowExecutions with a tiny query language: clauses `Key = 'value'` joined by AND over
 *   WorkflowId, WorkflowType, ExecutionStatus, TaskQueue; anything else is INVALID_ARGUMENT.
 *   pageSize + nextPageToken paging.
 * - Closing workflows from the test: `complete(id, value)` (json/plain payload, the SDK's default
 *   data converter format), `fail(id, message)`, `continueAsNew(id)` (a new run the client must
 *   follow), `terminate(id)`.
 * - `failNext(method, code, message)` makes the next call of a method fail with a gRPC status;
 *   every call is recorded (`calls`: method, decoded request, metadata, peer certificate subject).
 * - Plain text, TLS and mTLS (client certificate required) through grpc-js server credentials.
 * Not covered: workers and task queues, signals, queries, updates, schedules, search attributes,
 * memo, retries and timeouts of workflows, history other than the close event, authorization.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import proto from '@temporalio/proto';

const SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- decoded protobuf messages

/** temporal.api.enums.v1.WorkflowExecutionStatus */
export const WorkflowStatus = {
  RUNNING: 1,
  COMPLETED: 2,
  FAILED: 3,
  CANCELED: 4,
  TERMINATED: 5,
  CONTINUED_AS_NEW: 6,
  TIMED_OUT: 7,
} as const;
const STATUS_NAMES: Record<string, number> = {
  Running: 1,
  Completed: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  ContinuedAsNew: 6,
  TimedOut: 7,
};
/** temporal.api.enums.v1.EventType */
const EVENT = { COMPLETED: 2, FAILED: 3, TERMINATED: 6, CONTINUED_AS_NEW: 7 } as const;
/** temporal.api.enums.v1.HistoryEventFilterType */
const FILTER_CLOSE_EVENT = 2;

export interface FakeRun {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly requestId: string;
  /** The input payloads as the client sent them. */
  readonly input: Msg[];
  status: number;
  readonly startTime: Date;
  closeTime?: Date;
  closeEvent?: Msg;
}

export interface FakeCall {
  readonly method: string;
  readonly request: Msg;
  readonly metadata: Record<string, string>;
  /** The subject CN of the client certificate, when the client presented one (mTLS). */
  readonly clientCertSubject?: string | undefined;
}

export interface FakeTemporalOptions {
  /** PEM. With `key`, the server speaks TLS. */
  readonly cert?: string;
  readonly key?: string;
  /** PEM of the CA that client certificates must chain to: with it, a client certificate is required. */
  readonly clientCa?: string;
  /** Namespaces that exist (default: `default`). */
  readonly namespaces?: readonly string[];
  /** How long a history long poll waits before answering with no events (default 5000). */
  readonly longPollMs?: number;
}

export interface FakeTemporalServer {
  /** `127.0.0.1:<port>`, as the connection's address. */
  readonly address: string;
  readonly port: number;
  readonly calls: readonly FakeCall[];
  runs(): readonly FakeRun[];
  /** The current (newest) run of a workflow id. */
  current(workflowId: string, namespace?: string): FakeRun | undefined;
  /** Starts a workflow from the test side (as another client would). */
  seed(workflowId: string, workflowType: string, options?: { namespace?: string; taskQueue?: string }): FakeRun;
  complete(workflowId: string, value: unknown, options?: { namespace?: string; encoding?: string }): void;
  fail(workflowId: string, message: string, options?: { namespace?: string }): void;
  terminate(workflowId: string, reason: string, options?: { namespace?: string }): void;
  /** Closes the current run as continued-as-new and starts its successor; returns the new run. */
  continueAsNew(workflowId: string, options?: { namespace?: string }): FakeRun;
  failNext(method: string, code: grpc.status, message: string, times?: number): void;
  /** Forgets the failures `failNext` queued and no call consumed. */
  clearFailures(): void;
  /** How many history long polls are waiting right now. */
  readonly waiting: number;
  close(): Promise<void>;
}

function ts(date: Date): Msg {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** A payload as the SDKs' default data converter writes JSON values. */
export function jsonPayload(value: unknown, encoding = 'json/plain'): Msg {
  return { metadata: { encoding: Buffer.from(encoding) }, data: Buffer.from((JSON.stringify(value) as string | undefined) ?? 'null') };
}

/** Decodes a json/plain payload the client sent. */
export function decodePayload(payload: Msg): unknown {
  const encoding = Buffer.from(payload['metadata']?.['encoding'] ?? []).toString();
  if (encoding === 'binary/null') return null;
  if (encoding !== 'json/plain') throw new Error(`unexpected payload encoding ${encoding}`);
  return JSON.parse(Buffer.from(payload['data']).toString('utf8'));
}

function grpcError(code: grpc.status, details: string): Error & Partial<grpc.StatusObject> {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export async function startFakeTemporalServer(options: FakeTemporalOptions = {}): Promise<FakeTemporalServer> {
  const namespaces = new Set(options.namespaces ?? ['default']);
  const longPollMs = options.longPollMs ?? 5_000;
  const runs: FakeRun[] = [];
  const calls: FakeCall[] = [];
  const failures = new Map<string, Array<{ code: grpc.status; message: string }>>();
  const waiters = new Set<() => void>();
  let eventIds = 10;

  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const find = (namespace: string, workflowId: string, runId?: string): FakeRun | undefined => {
    const all = runs.filter((r) => r.namespace === namespace && r.workflowId === workflowId);
    return runId ? all.find((r) => r.runId === runId) : all.at(-1);
  };
  const mustCurrent = (workflowId: string, namespace = 'default'): FakeRun => {
    const run = find(namespace, workflowId);
    if (!run) throw new Error(`fake temporal: no workflow ${workflowId}`);
    if (run.status !== WorkflowStatus.RUNNING) throw new Error(`fake temporal: workflow ${workflowId} is not running`);
    return run;
  };
  const addRun = (r: Omit<FakeRun, 'status' | 'startTime' | 'runId'>): FakeRun => {
    const run: FakeRun = { ...r, runId: randomUUID(), status: WorkflowStatus.RUNNING, startTime: new Date() };
    runs.push(run);
    return run;
  };
  const closeRun = (run: FakeRun, status: number, event: Msg) => {
    run.status = status;
    run.closeTime = new Date();
    run.closeEvent = { eventId: ++eventIds, eventTime: ts(run.closeTime), ...event };
    wake();
  };
  const executionInfo = (run: FakeRun): Msg => ({
    execution: { workflowId: run.workflowId, runId: run.runId },
    type: { name: run.workflowType },
    startTime: ts(run.startTime),
    executionTime: ts(run.startTime),
    ...(run.closeTime ? { closeTime: ts(run.closeTime) } : {}),
    status: run.status,
    historyLength: run.closeEvent ? run.closeEvent['eventId'] : 2,
    taskQueue: run.taskQueue,
  });

  type Handler = (request: Msg, call: grpc.ServerUnaryCall<Msg, Msg>) => Promise<Msg> | Msg;
  const handlers: Record<string, Handler> = {
    GetSystemInfo: () => ({
      serverVersion: '1.25.0-fake',
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: true,
        encodedFailureAttributes: true,
        upsertMemo: true,
        eagerWorkflowStart: true,
        sdkMetadata: true,
        countGroupByExecutionStatus: true,
      },
    }),

    StartWorkflowExecution: (req) => {
      const namespace = String(req['namespace'] ?? '');
      if (!namespaces.has(namespace)) throw grpcError(grpc.status.NOT_FOUND, `Namespace ${namespace} is not found.`);
      const workflowType = String(req['workflowType']?.['name'] ?? '');
      const taskQueue = String(req['taskQueue']?.['name'] ?? '');
      const workflowId = String(req['workflowId'] ?? '');
      if (!workflowId) throw grpcError(grpc.status.INVALID_ARGUMENT, 'WorkflowId is not set on request.');
      if (!workflowType) throw grpcError(grpc.status.INVALID_ARGUMENT, 'WorkflowType is not set on request.');
      if (!taskQueue) throw grpcError(grpc.status.INVALID_ARGUMENT, 'Missing task queue.');
      const existing = find(namespace, workflowId);
      const requestId = String(req['requestId'] ?? '');
      if (existing && existing.status === WorkflowStatus.RUNNING) {
        if (existing.requestId === requestId) return { runId: existing.runId, started: false };
        throw grpcError(
          grpc.status.ALREADY_EXISTS,
          `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${existing.runId}.`,
        );
      }
      const run = addRun({ namespace, workflowId, workflowType, taskQueue, requestId, input: req['input']?.['payloads'] ?? [] });
      return { runId: run.runId, started: true };
    },

    GetWorkflowExecutionHistory: async (req, call) => {
      const namespace = String(req['namespace'] ?? '');
      if (!namespaces.has(namespace)) throw grpcError(grpc.status.NOT_FOUND, `Namespace ${namespace} is not found.`);
      if (req['historyEventFilterType'] !== FILTER_CLOSE_EVENT)
        throw grpcError(grpc.status.UNIMPLEMENTED, 'fake: only the close-event filter is served');
      const workflowId = String(req['execution']?.['workflowId'] ?? '');
      const runId = String(req['execution']?.['runId'] ?? '') || undefined;
      const run = find(namespace, workflowId, runId);
      if (!run) throw grpcError(grpc.status.NOT_FOUND, `workflow not found for ID: ${workflowId}`);
      const answer = (): Msg =>
        run.closeEvent
          ? { history: { events: [run.closeEvent] } }
          : { history: { events: [] }, nextPageToken: Buffer.from(`poll:${run.runId}`) };
      if (run.closeEvent || !req['waitNewEvent']) return answer();
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          call.off('cancelled', done);
          resolve();
        };
        const check = () => {
          if (run.closeEvent) done();
        };
        const timer = setTimeout(done, longPollMs);
        waiters.add(check);
        call.on('cancelled', done);
      });
      return answer();
    },

    ListWorkflowExecutions: (req) => {
      const namespace = String(req['namespace'] ?? '');
      if (!namespaces.has(namespace)) throw grpcError(grpc.status.NOT_FOUND, `Namespace ${namespace} is not found.`);
      const filters = parseQuery(String(req['query'] ?? ''));
      const matching = runs.filter((r) => r.namespace === namespace && filters.every((f) => f(r))).reverse();
      const start = req['nextPageToken']?.length ? Number(Buffer.from(req['nextPageToken']).toString()) : 0;
      const pageSize = Number(req['pageSize'] ?? 0) > 0 ? Number(req['pageSize']) : 1000;
      const page = matching.slice(start, start + pageSize);
      const next = start + pageSize < matching.length ? Buffer.from(String(start + pageSize)) : Buffer.alloc(0);
      return { executions: page.map(executionInfo), nextPageToken: next };
    },
  };

  const definition: Record<string, grpc.MethodDefinition<Msg, Msg>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    // The published protos: temporal.api.workflowservice.v1.<Method>Request / <Method>Response.
    const requestType = messageType(`${name}Request`);
    const responseType = messageType(`${name}Response`);
    definition[name] = {
      path: `/${SERVICE}/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: Msg) => Buffer.from(requestType.encode(requestType.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => requestType.toObject(requestType.decode(bytes), { longs: Number, defaults: false }),
      responseSerialize: (value: Msg) => Buffer.from(responseType.encode(responseType.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => responseType.toObject(responseType.decode(bytes), { longs: Number }),
    };
    implementation[name] = ((call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) => {
      const cert = call.getAuthContext().sslPeerCertificate;
      calls.push({ method: name, request: call.request, metadata: metadataRecord(call.metadata), clientCertSubject: cert?.subject.CN });
      const queued = failures.get(name);
      const injected = queued?.shift();
      if (queued && queued.length === 0) failures.delete(name);
      if (injected) {
        callback(grpcError(injected.code, injected.message));
        return;
      }
      Promise.resolve()
        .then(() => handler(call.request, call))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(isStatus(error) ? error : grpcError(grpc.status.INTERNAL, String(error))),
        );
    }) as grpc.handleUnaryCall<Msg, Msg>;
  }

  const server = new grpc.Server();
  server.addService(definition, implementation);
  const credentials =
    options.cert && options.key
      ? grpc.ServerCredentials.createSsl(
          options.clientCa ? Buffer.from(options.clientCa) : null,
          [{ cert_chain: Buffer.from(options.cert), private_key: Buffer.from(options.key) }],
          options.clientCa !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });

  return {
    address: `127.0.0.1:${port}`,
    port,
    calls,
    runs: () => runs,
    current: (workflowId, namespace = 'default') => find(namespace, workflowId),
    seed: (workflowId, workflowType, o = {}) =>
      addRun({
        namespace: o.namespace ?? 'default',
        workflowId,
        workflowType,
        taskQueue: o.taskQueue ?? 'seeded',
        requestId: randomUUID(),
        input: [],
      }),
    complete: (workflowId, value, o = {}) => {
      const run = mustCurrent(workflowId, o.namespace);
      closeRun(run, WorkflowStatus.COMPLETED, {
        eventType: EVENT.COMPLETED,
        workflowExecutionCompletedEventAttributes: {
          result: { payloads: [jsonPayload(value, o.encoding)] },
          workflowTaskCompletedEventId: eventIds,
        },
      });
    },
    fail: (workflowId, message, o = {}) => {
      const run = mustCurrent(workflowId, o.namespace);
      closeRun(run, WorkflowStatus.FAILED, {
        eventType: EVENT.FAILED,
        workflowExecutionFailedEventAttributes: {
          failure: { message, source: 'TypeScriptSDK', applicationFailureInfo: { type: 'Error' } },
          retryState: 1,
          workflowTaskCompletedEventId: eventIds,
        },
      });
    },
    terminate: (workflowId, reason, o = {}) => {
      const run = mustCurrent(workflowId, o.namespace);
      closeRun(run, WorkflowStatus.TERMINATED, {
        eventType: EVENT.TERMINATED,
        workflowExecutionTerminatedEventAttributes: { reason, identity: 'fake' },
      });
    },
    continueAsNew: (workflowId, o = {}) => {
      const run = mustCurrent(workflowId, o.namespace);
      const next = addRun({
        namespace: run.namespace,
        workflowId,
        workflowType: run.workflowType,
        taskQueue: run.taskQueue,
        requestId: randomUUID(),
        input: run.input,
      });
      closeRun(run, WorkflowStatus.CONTINUED_AS_NEW, {
        eventType: EVENT.CONTINUED_AS_NEW,
        workflowExecutionContinuedAsNewEventAttributes: {
          newExecutionRunId: next.runId,
          workflowType: { name: run.workflowType },
          taskQueue: { name: run.taskQueue },
          workflowTaskCompletedEventId: eventIds,
        },
      });
      return next;
    },
    failNext: (method, code, message, times = 1) => {
      const list = failures.get(method) ?? [];
      for (let i = 0; i < times; i += 1) list.push({ code, message });
      failures.set(method, list);
    },
    clearFailures: () => failures.clear(),
    get waiting() {
      return waiters.size;
    },
    close: async () => {
      wake();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
    },
  };
}

interface MessageType {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  fromObject(value: Msg): unknown;
  toObject(message: unknown, options?: Record<string, unknown>): Msg;
}

function messageType(name: string): MessageType {
  const type = (proto.temporal.api.workflowservice.v1 as unknown as Record<string, MessageType | undefined>)[name];
  if (!type) throw new Error(`no message ${name} in @temporalio/proto`);
  return type;
}

function isStatus(error: unknown): error is Partial<grpc.StatusObject> {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number';
}

function metadataRecord(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) out[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
  return out;
}

const QUERY_KEYS: Record<string, (r: FakeRun, value: string) => boolean> = {
  WorkflowId: (r, v) => r.workflowId === v,
  WorkflowType: (r, v) => r.workflowType === v,
  TaskQueue: (r, v) => r.taskQueue === v,
  ExecutionStatus: (r, v) => r.status === STATUS_NAMES[v],
};

/** `Key = 'value' AND Key = "value"`; anything else is refused as the real server refuses a bad query. */
function parseQuery(query: string): Array<(r: FakeRun) => boolean> {
  if (query.trim() === '') return [];
  return query.split(/\s+AND\s+/i).map((clause) => {
    const m = /^\s*(\w+)\s*=\s*(?:'([^']*)'|"([^"]*)")\s*$/.exec(clause);
    const test = m ? QUERY_KEYS[m[1]!] : undefined;
    if (!m || !test) throw grpcError(grpc.status.INVALID_ARGUMENT, `invalid query: unable to parse '${clause.trim()}'`);
    const value = m[2] ?? m[3] ?? '';
    return (r: FakeRun) => test(r, value);
  });
}
