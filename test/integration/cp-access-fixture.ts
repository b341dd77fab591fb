/**
 * Shared set-up for the access-control tests: a harness plus helpers that create principals,
 * keys, grants and connections through the real admin API (as the bootstrap admin).
 */
import assert from 'node:assert/strict';
import {
  ADMIN_API,
  connectionViewSchema,
  createAppKeyResponseSchema,
  serviceAccountViewSchema,
  teamViewSchema,
  userViewSchema,
  type PrincipalRef,
  type PutGrantRequest,
  type ScopeName,
} from '../../src/contracts/admin-api.js';
import type { Harness, InjectResult } from './control-plane-harness.js';

export const ALL_ROUTE_SCOPES: ScopeName[] = [
  'on_prem_runner_read',
  'on_prem_runner_write',
  'connections_read',
  'connections_write',
  'actions_run',
];

export function expectStatus(res: InjectResult, status: number, what: string): void {
  if (res.statusCode !== status) assert.fail(`${what}: expected ${status}, got ${res.statusCode} ${JSON.stringify(res.body)}`);
}

export function expectError(res: InjectResult, status: number, code: string, what: string): void {
  expectStatus(res, status, what);
  const body = res.body as { code?: unknown; message?: unknown; retryable?: unknown };
  assert.equal(body.code, code, `${what}: code`);
  assert.equal(typeof body.message, 'string', `${what}: message`);
  assert.equal(typeof body.retryable, 'boolean', `${what}: retryable`);
}

export function keyHeaders(key: string): Record<string, string> {
  return { 'dd-application-key': key };
}

export class AdminClient {
  constructor(readonly h: Harness) {}

  private async call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, status: number, body?: unknown): Promise<unknown> {
    const res = await this.h.request(method, url, { headers: this.h.appHeaders(), ...(body !== undefined ? { body } : {}) });
    expectStatus(res, status, `${method} ${url}`);
    return res.body;
  }

  async user(name: string, roles: string[] = ['standard']): Promise<string> {
    return userViewSchema.parse(await this.call('POST', ADMIN_API.users, 201, { name, email: `${name}@example.test`, roles })).id;
  }

  async team(name: string, members: string[]): Promise<string> {
    return teamViewSchema.parse(await this.call('POST', ADMIN_API.teams, 201, { name, members })).id;
  }

  async serviceAccount(name: string, roles: string[] = ['standard']): Promise<string> {
    return serviceAccountViewSchema.parse(await this.call('POST', ADMIN_API.serviceAccounts, 201, { name, roles })).id;
  }

  async appKey(
    owner: { type: 'user' | 'service_account'; id: string },
    scopes: ScopeName[] = ALL_ROUTE_SCOPES,
  ): Promise<{ id: string; key: string }> {
    const created = createAppKeyResponseSchema.parse(
      await this.call('POST', ADMIN_API.appKeys, 201, { name: `key-${owner.id.slice(0, 6)}`, scopes, owner }),
    );
    return { id: created.id, key: created.key };
  }

  async grant(runnerId: string, principal: PrincipalRef, role: PutGrantRequest['role']): Promise<void> {
    await this.call('PUT', ADMIN_API.runnerGrants(runnerId), 200, { principal, role });
  }

  async connection(
    runnerId: string,
    name: string,
    settings: Record<string, unknown> = { baseUrl: 'http://127.0.0.1:9/' },
  ): Promise<string> {
    return connectionViewSchema.parse(
      await this.call('POST', ADMIN_API.connections, 201, {
        name,
        runnerId,
        integration: 'http',
        settings,
        credentialPath: 'credentials/x.json',
      }),
    ).id;
  }

  async revokeAppKey(id: string): Promise<void> {
    await this.call('DELETE', ADMIN_API.appKey(id), 204);
  }
}
