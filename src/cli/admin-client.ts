/**
 * Client of the control plane's admin API (runners, grants, connections, keys, task lists) for
 * the `par runners|connections|keys|tasks` commands. Responses are parsed with the wire schemas.
 */
import { request } from 'undici';
import type { z } from 'zod';
import {
  ADMIN_API,
  adminRunnerViewSchema,
  apiKeysResponseSchema,
  appKeysResponseSchema,
  connectionViewSchema,
  connectionsResponseSchema,
  createApiKeyResponseSchema,
  createAppKeyResponseSchema,
  grantsResponseSchema,
  runnersResponseSchema,
  tasksResponseSchema,
  type AdminRunnerView,
  type ApiKeyView,
  type AppKeyView,
  type ConnectionView,
  type CreateApiKeyResponse,
  type CreateAppKeyResponse,
  type CreateAppKeyRequest,
  type CreateConnectionRequest,
  type Grant,
  type PutGrantRequest,
} from '../contracts/admin-api.js';
import {
  taskEventsPath,
  taskEventsResponseSchema,
  taskViewSchema,
  TASKS_API,
  type TaskEvent,
  type TaskView,
} from '../contracts/tasks-api.js';
import type { CliConfig } from '../config/cli.js';
import { fromErrorBody, ParError } from '../errors/par-error.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export class AdminClient {
  constructor(private readonly config: CliConfig) {}

  private async call<S extends z.ZodType>(method: Method, path: string, schema: S | undefined, body?: unknown): Promise<z.output<S>> {
    const headers: Record<string, string> = { 'dd-application-key': this.config.appKey };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await request(new URL(path, this.config.controlPlaneUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
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
    return (schema ? schema.parse(parsed) : undefined) as z.output<S>;
  }

  async listRunners(): Promise<AdminRunnerView[]> {
    return (await this.call('GET', ADMIN_API.runners, runnersResponseSchema)).runners;
  }
  getRunner(idOrName: string): Promise<AdminRunnerView> {
    return this.call('GET', ADMIN_API.runner(idOrName), adminRunnerViewSchema);
  }
  async deleteRunner(idOrName: string, force: boolean): Promise<void> {
    await this.call('DELETE', `${ADMIN_API.runner(idOrName)}${force ? '?force=true' : ''}`, undefined);
  }
  async getGrants(idOrName: string): Promise<Grant[]> {
    return (await this.call('GET', ADMIN_API.runnerGrants(idOrName), grantsResponseSchema)).grants;
  }
  async putGrant(idOrName: string, grant: PutGrantRequest): Promise<Grant[]> {
    return (await this.call('PUT', ADMIN_API.runnerGrants(idOrName), grantsResponseSchema, grant)).grants;
  }

  async listConnections(runnerId?: string): Promise<ConnectionView[]> {
    const query = runnerId ? `?runnerId=${encodeURIComponent(runnerId)}` : '';
    return (await this.call('GET', `${ADMIN_API.connections}${query}`, connectionsResponseSchema)).connections;
  }
  createConnection(c: CreateConnectionRequest): Promise<ConnectionView> {
    return this.call('POST', ADMIN_API.connections, connectionViewSchema, c);
  }
  async deleteConnection(id: string): Promise<void> {
    await this.call('DELETE', ADMIN_API.connection(id), undefined);
  }

  createAppKey(k: CreateAppKeyRequest): Promise<CreateAppKeyResponse> {
    return this.call('POST', ADMIN_API.appKeys, createAppKeyResponseSchema, k);
  }
  createApiKey(name: string): Promise<CreateApiKeyResponse> {
    return this.call('POST', ADMIN_API.apiKeys, createApiKeyResponseSchema, { name });
  }
  async listAppKeys(): Promise<AppKeyView[]> {
    return (await this.call('GET', ADMIN_API.appKeys, appKeysResponseSchema)).appKeys;
  }
  async listApiKeys(): Promise<ApiKeyView[]> {
    return (await this.call('GET', ADMIN_API.apiKeys, apiKeysResponseSchema)).apiKeys;
  }
  async revokeAppKey(id: string): Promise<void> {
    await this.call('DELETE', ADMIN_API.appKey(id), undefined);
  }
  async revokeApiKey(id: string): Promise<void> {
    await this.call('DELETE', ADMIN_API.apiKey(id), undefined);
  }

  async listTasks(runnerId: string | undefined, limit: number): Promise<TaskView[]> {
    const query = new URLSearchParams({ limit: String(limit), ...(runnerId ? { runnerId } : {}) });
    return (await this.call('GET', `${ADMIN_API.tasks}?${query.toString()}`, tasksResponseSchema)).tasks;
  }
  getTask(id: string): Promise<TaskView> {
    return this.call('GET', TASKS_API.get(id), taskViewSchema);
  }
  async getTaskEvents(id: string): Promise<TaskEvent[]> {
    return (await this.call('GET', taskEventsPath(id), taskEventsResponseSchema)).events;
  }
  /** Cancels a task (idempotent); a task that already finished is PAR_ERR_TASK_FINISHED. */
  cancelTask(id: string): Promise<TaskView> {
    return this.call('POST', TASKS_API.cancel(id), taskViewSchema);
  }
}
