/** A small client of the control plane's user API, for the `par` commands. */
import { request } from 'undici';
import { fromErrorBody, ParError } from '../errors/par-error.js';
import {
  TASKS_API,
  taskEventsPath,
  taskEventsResponseSchema,
  taskViewSchema,
  type SubmitTaskRequest,
  type TaskEvent,
  type TaskView,
} from '../contracts/tasks-api.js';
import type { CliConfig } from '../config/cli.js';
import { FINAL_TASK_STATES } from '../contracts/task.js';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER } from '../contracts/idempotency.js';

/** The longest wait the control plane takes in one request (MAX_TASK_WAIT_MS there). */
const MAX_WAIT_ROUND_MS = 60_000;

export interface SubmitOptions {
  /** Sent as the Idempotency-Key header. */
  idempotencyKey?: string | undefined;
  timeoutMs?: number;
}

export class ApiClient {
  constructor(private readonly config: CliConfig) {}

  private async call(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 30_000): Promise<unknown> {
    return (await this.exchange(method, path, body, timeoutMs)).body;
  }

  private async exchange(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = 30_000,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ body: unknown; headers: Record<string, string | string[] | undefined> }> {
    const headers: Record<string, string> = { ...extraHeaders, 'dd-application-key': this.config.appKey };
    if (this.config.apiKey) headers['dd-api-key'] = this.config.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await request(new URL(path, this.config.controlPlaneUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw new ParError(
        'PAR_ERR_INTERNAL',
        `cannot reach the control plane at ${this.config.controlPlaneUrl}: ${(error as Error).message}`,
      );
    }
    const text = await res.body.text();
    const parsed: unknown = text.length > 0 ? JSON.parse(text) : undefined;
    if (res.statusCode >= 400) throw fromErrorBody(parsed);
    return { body: parsed, headers: res.headers };
  }

  async submitTask(task: SubmitTaskRequest, options: SubmitOptions = {}): Promise<TaskView> {
    return (await this.submit(task, options)).task;
  }

  /**
   * Submits a task; with an idempotency key, sending it again (a retry after a timeout or a 5xx)
   * returns the task the first call created (`replayed: true`) instead of creating another.
   */
  async submit(task: SubmitTaskRequest, options: SubmitOptions = {}): Promise<{ task: TaskView; replayed: boolean }> {
    const headers: Record<string, string> =
      options.idempotencyKey === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey };
    const res = await this.exchange('POST', TASKS_API.submit, task, options.timeoutMs ?? 30_000, headers);
    return { task: taskViewSchema.parse(res.body), replayed: res.headers[IDEMPOTENT_REPLAYED_HEADER] === 'true' };
  }

  /**
   * Submits a task and waits up to `waitMs` for its final result: ONE request when the result
   * comes within a long-poll round (POST /api/v1/tasks?wait=, at most 60 s), then further rounds
   * of GET ?wait= (waitForTask) for what is left of the wait. With an idempotency key, a retry of
   * a lost answer returns (and waits for) the task the first call created.
   */
  async submitAndWait(
    task: SubmitTaskRequest,
    waitMs: number,
    options: SubmitOptions = {},
  ): Promise<{ task: TaskView; replayed: boolean }> {
    const deadline = Date.now() + waitMs;
    const round = Math.max(1, Math.min(MAX_WAIT_ROUND_MS, waitMs));
    const headers: Record<string, string> =
      options.idempotencyKey === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey };
    const res = await this.exchange('POST', `${TASKS_API.submit}?wait=${round}`, task, round + (options.timeoutMs ?? 30_000), headers);
    const submitted = taskViewSchema.parse(res.body);
    const replayed = res.headers[IDEMPOTENT_REPLAYED_HEADER] === 'true';
    const left = deadline - Date.now();
    if (FINAL_TASK_STATES.includes(submitted.state) || left <= 0) return { task: submitted, replayed };
    return { task: await this.waitForTask(submitted.id, left), replayed };
  }

  /** Reads a task; with waitMs the control plane answers as soon as the task is final. */
  async getTask(taskId: string, waitMs = 0): Promise<TaskView> {
    const path = waitMs > 0 ? `${TASKS_API.get(taskId)}?wait=${waitMs}` : TASKS_API.get(taskId);
    return taskViewSchema.parse(await this.call('GET', path, undefined, waitMs + 30_000));
  }

  async getTaskEvents(taskId: string): Promise<TaskEvent[]> {
    return taskEventsResponseSchema.parse(await this.call('GET', taskEventsPath(taskId))).events;
  }

  /** Waits for a final state, in long-poll rounds of up to 60 s. */
  async waitForTask(taskId: string, timeoutMs: number): Promise<TaskView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      const view = await this.getTask(taskId, Math.max(1, Math.min(MAX_WAIT_ROUND_MS, left)));
      if (FINAL_TASK_STATES.includes(view.state) || Date.now() >= deadline) return view;
    }
  }
}
