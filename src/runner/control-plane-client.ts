/**
 * The runner's HTTP client for the control plane's runner API: ONE keep-alive connection for the
 * whole process (an undici Client), so a fleet of N runners costs the control plane N sockets.
 * Every call except enrollment and identity rotation (the poll, heartbeats, fenced result
 * publication, health, key fetches) is sent non-blocking and idempotent (see PIPELINING), so
 * undici pipelines them behind a parked poll (HTTP/1.1); the control plane answers the parked poll at
 * once when a call arrives behind it (control-plane/parked-polls.ts), so a heartbeat or result
 * waits one round trip, not the poll's wait. A control plane without that still answers it when
 * the poll returns, within the poll's wait (capped by the health interval: poll-loop.ts).
 * Every call returns a result instead of throwing, so each caller decides what a failure means
 * for it (back off, drop, stop the runner) by matching on the error's code.
 *
 * Every response is parsed with the wire schemas of `src/contracts/runner-api.ts`; a body that does
 * not match is reported as an error, never passed on.
 */
import { Client, errors as undiciErrors } from 'undici';
import type { z } from 'zod';
import {
  RUNNER_API,
  dequeueResponseSchema,
  enrollResponseSchema,
  healthResponseSchema,
  heartbeatResponseSchema,
  publishBatchResponseSchema,
  publishResponseSchema,
  type DequeueResponse,
  type EnrollRequest,
  type EnrollResponse,
  type HealthReport,
  type HealthResponse,
  type TokenEnrollRequest,
  type HeartbeatResponse,
  type PublishBatchItem,
  type PublishBatchResponse,
  type PublishResponse,
} from '../contracts/runner-api.js';
import type { TaskOutcome } from '../contracts/task.js';
import {
  KEY_ROTATION_API,
  keyAnswerSchema,
  rotateIdentityResponseSchema,
  type KeyAnswer,
  type RotateIdentityRequest,
  type RotateIdentityResponse,
} from '../contracts/control-plane-keys.js';
import type { ErrorCode } from '../errors/codes.js';
import { ParError, fromErrorBody } from '../errors/par-error.js';

/**
 * `network`: no HTTP answer (refused, reset, timeout); `http`: the control plane answered with an
 * error status or an unparseable body; `aborted`: the caller's signal fired.
 */
export type ClientFailureKind = 'network' | 'http' | 'aborted';

export type ClientResult<T> = { ok: true; value: T } | { ok: false; error: ParError; kind: ClientFailureKind; status?: number };

/** Where the runner's request JWT comes from (RunnerTokenMinter, cached). */
export interface TokenSource {
  token(): Promise<string>;
}

export interface LeaseRef {
  taskId: string;
  leaseToken: string;
}

export interface ControlPlaneClientOptions {
  baseUrl: string;
  /** Timeout of non-polling requests. */
  requestTimeoutMs?: number;
}

/** How long the runner publishes one result per request after a control plane answered 404 to a batch (one older than it). */
const BATCH_UNSUPPORTED_MS = 10 * 60_000;

/**
 * How a call may share the one socket: `poll` (parks without blocking the socket: others are
 * pipelined behind it), `shared` (pipelined), both re-sent by undici if the socket drops before
 * their answer; `alone` (not idempotent: sent when nothing else is in flight). Re-sending a poll
 * is what the poll loop does after a failure anyway: a lost answer's leases lapse and the tasks
 * come again (at-least-once). Were the poll `alone`, it would wait for every result in flight and
 * hold the results queued behind it (half the tasks/s at 64 in flight, measured).
 */
type Pipelining = 'poll' | 'shared' | 'alone';

const PIPELINING: Record<Pipelining, { idempotent: boolean; blocking: boolean }> = {
  poll: { idempotent: true, blocking: false },
  shared: { idempotent: true, blocking: false },
  alone: { idempotent: false, blocking: true },
};

/** Calls one socket may carry at once: the poll, a heartbeat, results (16 publish at once), a health check, a key fetch. */
const PIPELINE_DEPTH = 32;

/** Extra time a long poll may take beyond its `waitMs` before the runner gives up on it. */
const LONG_POLL_MARGIN_MS = 15_000;

export class ControlPlaneClient {
  private readonly connection: Client;
  private readonly basePath: string;
  private readonly requestTimeoutMs: number;
  private tokens: TokenSource | undefined;
  private batchUnsupportedUntil = 0;

  constructor(options: ControlPlaneClientOptions) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.connection = new Client(url.origin, { pipelining: PIPELINE_DEPTH, keepAliveTimeout: 30_000 });
  }

  /** Set once the runner has an identity: every later call carries a runner JWT. */
  setTokenSource(tokens: TokenSource): void {
    this.tokens = tokens;
  }

  enroll(apiKey: string, appKey: string, body: EnrollRequest, signal?: AbortSignal): Promise<ClientResult<EnrollResponse>> {
    return this.call(RUNNER_API.enroll, body, enrollResponseSchema, { 'dd-api-key': apiKey, 'dd-application-key': appKey }, { signal });
  }

  /** Enrollment with a one-time token instead of keys: the token decides which runner this is. */
  enrollWithToken(token: string, body: TokenEnrollRequest, signal?: AbortSignal): Promise<ClientResult<EnrollResponse>> {
    return this.call(RUNNER_API.enroll, body, enrollResponseSchema, { authorization: `Bearer ${token}` }, { signal });
  }

  /** The periodic health check (runner JWT). */
  health(report: HealthReport, signal?: AbortSignal): Promise<ClientResult<HealthResponse>> {
    return this.call(RUNNER_API.health, report, healthResponseSchema, 'runner', { signal, pipelining: 'shared' });
  }

  /** The long poll; `health` rides on it when a check is due (health-reporter.ts). */
  dequeue(request: { max: number; waitMs: number; health?: HealthReport }, signal?: AbortSignal): Promise<ClientResult<DequeueResponse>> {
    return this.call(RUNNER_API.dequeue, request, dequeueResponseSchema, 'runner', {
      signal,
      timeoutMs: request.waitMs + LONG_POLL_MARGIN_MS,
      pipelining: 'poll',
    });
  }

  heartbeat(leases: readonly LeaseRef[]): Promise<ClientResult<HeartbeatResponse>> {
    return this.call(RUNNER_API.heartbeat, { leases }, heartbeatResponseSchema, 'runner', { pipelining: 'shared' });
  }

  publish(taskId: string, leaseToken: string, outcome: TaskOutcome, signal?: AbortSignal): Promise<ClientResult<PublishResponse>> {
    return this.call(RUNNER_API.result(taskId), { leaseToken, outcome }, publishResponseSchema, 'runner', { signal, pipelining: 'shared' });
  }

  /**
   * Many results in one request (`POST /api/v1/runner/tasks/results`, at most PUBLISH_BATCH_MAX):
   * one answer per item, in order, shaped as `publish` answers for it (a `stale` item is the single
   * route's 409 PAR_ERR_LEASE_STALE, `not_found` its 404), so the caller decides per item as for
   * one. A failure of the whole request (no answer, 5xx, 429, a refused token) is every item's
   * answer. Falls back to one `publish` per item when the control plane has no batch route (404:
   * older than this runner; remembered for BATCH_UNSUPPORTED_MS), and when it refuses the batch as
   * invalid (400) or too large (413, its body limit): the single route then decides each item as it
   * always did, so one item cannot fail the others (nor be refused only for being in a batch).
   */
  async publishMany(items: readonly PublishBatchItem[], signal?: AbortSignal): Promise<ClientResult<PublishResponse>[]> {
    if (items.length === 0) return [];
    if (Date.now() >= this.batchUnsupportedUntil) {
      const answer = await this.call(RUNNER_API.results, { results: items }, publishBatchResponseSchema, 'runner', {
        signal,
        pipelining: 'shared',
      });
      if (answer.ok) return itemAnswers(items, answer.value);
      const single = answer.kind === 'http' && (answer.status === 404 || answer.status === 400 || answer.status === 413);
      if (!single) return items.map(() => answer);
      if (answer.status === 404) this.batchUnsupportedUntil = Date.now() + BATCH_UNSUPPORTED_MS;
    }
    return Promise.all(items.map((item) => this.publish(item.taskId, item.leaseToken, item.outcome, signal)));
  }

  /** The control plane's signing-key chain (runner JWT); the caller verifies the endorsements. */
  keys(signal?: AbortSignal): Promise<ClientResult<KeyAnswer>> {
    return this.call(KEY_ROTATION_API.runnerKeys, undefined, keyAnswerSchema, 'runner', { signal, method: 'GET', pipelining: 'shared' });
  }

  /** Identity rotation: the token comes from the current key's minter; `tokens` overrides it (start-up recovery). */
  rotateIdentity(body: RotateIdentityRequest, signal?: AbortSignal): Promise<ClientResult<RotateIdentityResponse>> {
    return this.call(KEY_ROTATION_API.rotateIdentity, body, rotateIdentityResponseSchema, 'runner', { signal });
  }

  /** A key fetch authenticated by `tokens` instead of the current source (to test a key before adopting it). */
  keysWith(tokens: TokenSource, signal?: AbortSignal): Promise<ClientResult<KeyAnswer>> {
    return this.call(KEY_ROTATION_API.runnerKeys, undefined, keyAnswerSchema, 'runner', {
      signal,
      method: 'GET',
      tokens,
      pipelining: 'shared',
    });
  }

  /** `GET /healthz` with a short timeout: true when the control plane (and its Redis) answers 200. */
  async probe(signal?: AbortSignal, timeoutMs = 1000): Promise<boolean> {
    try {
      const response = await this.connection.request({
        method: 'GET',
        path: `${this.basePath}/healthz`,
        signal,
        ...PIPELINING.shared,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await response.body.dump();
      return response.statusCode === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private async call<S extends z.ZodType>(
    path: string,
    body: unknown,
    schema: S,
    auth: 'runner' | Record<string, string>,
    options: {
      signal?: AbortSignal | undefined;
      timeoutMs?: number;
      method?: 'GET' | 'POST';
      tokens?: TokenSource;
      pipelining?: Pipelining;
    } = {},
  ): Promise<ClientResult<z.infer<S>>> {
    const method = options.method ?? 'POST';
    const headers: Record<string, string> =
      method === 'POST' ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' };
    if (auth === 'runner') {
      const tokens = options.tokens ?? this.tokens;
      if (!tokens)
        return {
          ok: false,
          kind: 'http',
          error: new ParError('PAR_ERR_INTERNAL', 'runner API called before the runner has an identity', { retryable: false }),
        };
      headers['authorization'] = `Bearer ${await tokens.token()}`;
    } else {
      Object.assign(headers, auth);
    }
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    let statusCode: number;
    let text: string;
    try {
      const response = await this.connection.request({
        method,
        path: `${this.basePath}${path}`,
        headers,
        body: method === 'POST' ? JSON.stringify(body) : null,
        signal: options.signal,
        ...PIPELINING[options.pipelining ?? 'alone'],
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (options.signal?.aborted)
        return { ok: false, kind: 'aborted', error: new ParError('PAR_ERR_INTERNAL', 'request aborted', { cause: error }) };
      return { ok: false, kind: 'network', error: networkError(error) };
    }
    const json = parseJson(text);
    if (statusCode < 200 || statusCode >= 300) {
      return { ok: false, kind: 'http', status: statusCode, error: httpError(statusCode, json ?? text) };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // Retryable: most likely a proxy or a control plane mid-upgrade answering something else.
      return {
        ok: false,
        kind: 'http',
        status: statusCode,
        error: new ParError(
          'PAR_ERR_INTERNAL',
          `unexpected response from ${path}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
        ),
      };
    }
    return { ok: true, value: parsed.data };
  }
}

/** A batch answer as one `publish` answer per item; an answer that does not match the items is retried. */
function itemAnswers(items: readonly PublishBatchItem[], answer: PublishBatchResponse): ClientResult<PublishResponse>[] {
  return items.map((item, i): ClientResult<PublishResponse> => {
    const one = answer.results[i];
    if (one?.taskId !== item.taskId) {
      const error = new ParError('PAR_ERR_INTERNAL', `unexpected response from ${RUNNER_API.results}: no answer for task ${item.taskId}`);
      return { ok: false, kind: 'http', status: 200, error };
    }
    switch (one.status) {
      case 'recorded':
      case 'duplicate':
        return { ok: true, value: { status: one.status } };
      case 'stale':
        return { ok: false, kind: 'http', status: 409, error: new ParError('PAR_ERR_LEASE_STALE', `task ${item.taskId}`) };
      case 'not_found':
        return { ok: false, kind: 'http', status: 404, error: new ParError('PAR_ERR_NOT_FOUND', `task ${item.taskId}`) };
    }
  });
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The code a non-registry error body stands for, by HTTP status (proxies answer plain text). */
function fallbackCode(status: number): ErrorCode {
  if (status === 429) return 'PAR_ERR_RATE_LIMITED';
  if (status >= 500) return 'PAR_ERR_INTERNAL';
  if (status === 404) return 'PAR_ERR_NOT_FOUND';
  if (status === 401 || status === 403) return 'PAR_ERR_AUTH_FORBIDDEN';
  return 'PAR_ERR_REQUEST_INVALID';
}

function httpError(status: number, body: unknown): ParError {
  const error = fromErrorBody(body, fallbackCode(status));
  // A 5xx or 429 is worth retrying whatever code it carries; the registry may say otherwise for
  // codes that are only fatal when the control plane is healthy.
  if (error.retryable || (status < 500 && status !== 429)) return error;
  const retryable = new ParError(error.code, undefined, { retryable: true, cause: error });
  retryable.message = error.message;
  return retryable;
}

function networkError(error: unknown): ParError {
  const code = error instanceof undiciErrors.UndiciError ? error.code : (error as NodeJS.ErrnoException | undefined)?.code;
  const cause = (error as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  return new ParError('PAR_ERR_INTERNAL', `control plane unreachable (${cause ?? code ?? 'network error'})`, {
    retryable: true,
    cause: error,
  });
}
