/**
 * Per-runner grants (`P:runner:<id>:grants`: `<type>:<id>` -> viewer/contributor/editor) and the
 * caller's effective access: the max over its own grant, its teams', its roles'; the org `admin`
 * role is editor everywhere; a `read_only` principal never gets more than viewer.
 */
import type { Redis } from '../../lib/redis-connection.js';
import { RUNNER_ACCESS_LEVELS, principalTypeSchema, type Grant, type PrincipalRef, type RunnerAccess } from '../../contracts/admin-api.js';
import type { KeySpace } from './key-space.js';
import type { Principal } from './principals.js';

export function grantField(p: PrincipalRef): string {
  return `${p.type}:${p.id}`;
}

export function accessRank(level: RunnerAccess | undefined): number {
  return level === undefined ? -1 : RUNNER_ACCESS_LEVELS.indexOf(level);
}

export function atLeast(level: RunnerAccess | undefined, needed: RunnerAccess): boolean {
  return accessRank(level) >= accessRank(needed);
}

function asAccess(value: string | null | undefined): RunnerAccess | undefined {
  return RUNNER_ACCESS_LEVELS.find((l) => l === value);
}

function parseField(field: string): PrincipalRef | undefined {
  const at = field.indexOf(':');
  const type = principalTypeSchema.safeParse(field.slice(0, at));
  return at > 0 && type.success ? { type: type.data, id: field.slice(at + 1) } : undefined;
}

export async function listGrants(redis: Redis, ks: KeySpace, runnerId: string): Promise<Grant[]> {
  const raw = await redis.hgetall(ks.runnerGrants(runnerId));
  const grants: Grant[] = [];
  for (const [field, value] of Object.entries(raw)) {
    const principal = parseField(field);
    const role = asAccess(value);
    if (principal && role) grants.push({ principal, role });
  }
  return grants.sort((a, b) => grantField(a.principal).localeCompare(grantField(b.principal)));
}

/** `none` removes the grant. */
export async function setGrant(
  redis: Redis,
  ks: KeySpace,
  runnerId: string,
  principal: PrincipalRef,
  role: RunnerAccess | 'none',
): Promise<void> {
  if (role === 'none') await redis.hdel(ks.runnerGrants(runnerId), grantField(principal));
  else await redis.hset(ks.runnerGrants(runnerId), grantField(principal), role);
}

/** The principal's access to the runner, or undefined when it may not even view it. */
export async function effectiveAccess(
  redis: Redis,
  ks: KeySpace,
  principal: Principal,
  runnerId: string,
): Promise<RunnerAccess | undefined> {
  if (principal.roles.includes('admin')) return 'editor';
  const fields = [
    grantField({ type: principal.type, id: principal.id }),
    ...principal.teams.map((id) => grantField({ type: 'team', id })),
    ...principal.roles.map((id) => grantField({ type: 'role', id })),
  ];
  const values = await redis.hmget(ks.runnerGrants(runnerId), ...fields);
  let best: RunnerAccess | undefined;
  for (const value of values) {
    const level = asAccess(value);
    if (accessRank(level) > accessRank(best)) best = level;
  }
  const readOnly = principal.roles.length > 0 && principal.roles.every((r) => r === 'read_only');
  return readOnly && best !== undefined ? 'viewer' : best;
}
