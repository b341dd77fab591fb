/**
 * Users, teams and service accounts of an org, and the built-in org roles. A caller is always a
 * user or a service account (the owner of the app key); teams and roles only receive grants.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../../lib/redis-connection.js';
import type { OrgRole, ServiceAccountView, TeamView, UserView } from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import { accessKeySpace } from './access-key-space.js';
import { createUser, type KeyOwner } from './credentials.js';
import type { KeySpace } from './key-space.js';
import { bumpAuthEpoch } from './auth-epoch.js';

export const BUILT_IN_ROLES: readonly { id: OrgRole; name: string; description: string }[] = [
  { id: 'admin', name: 'Admin', description: 'Editor on every runner; manages users, teams, service accounts and keys' },
  { id: 'standard', name: 'Standard', description: 'Creates runners and connections; other runners as grants allow' },
  { id: 'read_only', name: 'Read only', description: 'Views what grants allow; never more than viewer on a runner' },
];

/** A resolved caller: the key owner with its org roles and team memberships. */
export interface Principal {
  type: KeyOwner['type'];
  id: string;
  orgId: string;
  name: string;
  roles: readonly string[];
  teams: readonly string[];
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(' ').filter((w) => w.length > 0);
}

function parseMembers(text: string | undefined): string[] {
  if (!text) return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export async function addUser(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  u: { name: string; email: string; roles: readonly string[] },
  now: number,
): Promise<UserView> {
  const id = await createUser(redis, ks, orgId, u.name, randomUUID(), now, { email: u.email, roles: u.roles });
  return { id, name: u.name, email: u.email, roles: [...u.roles], createdAt: now };
}

function toUser(h: Record<string, string>): UserView | undefined {
  if (!h['id']) return undefined;
  return { id: h['id'], name: h['name'] ?? '', email: h['email'] ?? '', roles: words(h['roles']), createdAt: Number(h['createdAt'] ?? 0) };
}

async function loadAll<T>(redis: Redis, keys: string[], parse: (h: Record<string, string>) => T | undefined): Promise<T[]> {
  if (keys.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hgetall(key);
  const out: T[] = [];
  for (const [error, value] of (await pipeline.exec()) ?? []) {
    if (error) throw error;
    const item = parse(value as Record<string, string>);
    if (item !== undefined) out.push(item);
  }
  return out;
}

export async function listUsers(redis: Redis, ks: KeySpace, orgId: string): Promise<UserView[]> {
  const ids = await redis.smembers(accessKeySpace(ks).orgUsers(orgId));
  const users = await loadAll(
    redis,
    ids.map((id) => ks.user(id)),
    toUser,
  );
  return users.sort((a, b) => a.name.localeCompare(b.name));
}

function toTeam(h: Record<string, string>): TeamView | undefined {
  if (!h['id']) return undefined;
  return { id: h['id'], name: h['name'] ?? '', members: parseMembers(h['members']), createdAt: Number(h['createdAt'] ?? 0) };
}

async function requireUsersInOrg(redis: Redis, ks: KeySpace, orgId: string, userIds: readonly string[]): Promise<void> {
  for (const id of userIds) {
    if ((await redis.hget(ks.user(id), 'orgId')) !== orgId) throw new ParError('PAR_ERR_NOT_FOUND', `user ${id}`);
  }
}

export async function addTeam(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  t: { name: string; members: readonly string[] },
  now: number,
): Promise<TeamView> {
  await requireUsersInOrg(redis, ks, orgId, t.members);
  const aks = accessKeySpace(ks);
  const id = randomUUID();
  const members = [...new Set(t.members)];
  const tx = redis
    .multi()
    .hset(aks.team(id), { id, orgId, name: t.name, members: JSON.stringify(members), createdAt: now })
    .sadd(aks.orgTeams(orgId), id);
  for (const m of members) tx.sadd(aks.userTeams(m), id);
  await bumpAuthEpoch(tx, ks).exec();
  return { id, name: t.name, members, createdAt: now };
}

export async function setTeamMembers(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  teamId: string,
  members: readonly string[],
): Promise<TeamView> {
  const aks = accessKeySpace(ks);
  const team = toTeam(await redis.hgetall(aks.team(teamId)));
  if (!team || (await redis.hget(aks.team(teamId), 'orgId')) !== orgId) throw new ParError('PAR_ERR_NOT_FOUND', `team ${teamId}`);
  await requireUsersInOrg(redis, ks, orgId, members);
  const next = [...new Set(members)];
  const tx = redis.multi().hset(aks.team(teamId), 'members', JSON.stringify(next));
  for (const m of team.members) if (!next.includes(m)) tx.srem(aks.userTeams(m), teamId);
  for (const m of next) tx.sadd(aks.userTeams(m), teamId);
  await bumpAuthEpoch(tx, ks).exec();
  return { ...team, members: next };
}

export async function listTeams(redis: Redis, ks: KeySpace, orgId: string): Promise<TeamView[]> {
  const aks = accessKeySpace(ks);
  const teams = await loadAll(
    redis,
    (await redis.smembers(aks.orgTeams(orgId))).map((id) => aks.team(id)),
    toTeam,
  );
  return teams.sort((a, b) => a.name.localeCompare(b.name));
}

function toServiceAccount(h: Record<string, string>): ServiceAccountView | undefined {
  if (!h['id']) return undefined;
  return { id: h['id'], name: h['name'] ?? '', roles: words(h['roles']), createdAt: Number(h['createdAt'] ?? 0) };
}

export async function addServiceAccount(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  sa: { name: string; roles: readonly string[] },
  now: number,
): Promise<ServiceAccountView> {
  const aks = accessKeySpace(ks);
  const id = randomUUID();
  await redis
    .multi()
    .hset(aks.serviceAccount(id), { id, orgId, name: sa.name, roles: sa.roles.join(' '), createdAt: now })
    .sadd(aks.orgServiceAccounts(orgId), id)
    .exec();
  return { id, name: sa.name, roles: [...sa.roles], createdAt: now };
}

export async function listServiceAccounts(redis: Redis, ks: KeySpace, orgId: string): Promise<ServiceAccountView[]> {
  const aks = accessKeySpace(ks);
  const sas = await loadAll(
    redis,
    (await redis.smembers(aks.orgServiceAccounts(orgId))).map((id) => aks.serviceAccount(id)),
    toServiceAccount,
  );
  return sas.sort((a, b) => a.name.localeCompare(b.name));
}

/** The key owner with roles and teams; undefined when the owner is gone or in another org. */
export async function loadPrincipal(redis: Redis, ks: KeySpace, owner: KeyOwner, orgId: string): Promise<Principal | undefined> {
  const aks = accessKeySpace(ks);
  if (owner.type === 'service_account') {
    const h = await redis.hgetall(aks.serviceAccount(owner.id));
    if (h['orgId'] !== orgId) return undefined;
    return { type: 'service_account', id: owner.id, orgId, name: h['name'] ?? '', roles: words(h['roles']), teams: [] };
  }
  const [h, teams] = await Promise.all([redis.hgetall(ks.user(owner.id)), redis.smembers(aks.userTeams(owner.id))]);
  if (h['orgId'] !== orgId) return undefined;
  return { type: 'user', id: owner.id, orgId, name: h['name'] ?? '', roles: words(h['roles']), teams };
}

/** Whether a user or service account of the org exists (app keys can only be made for these). */
export async function ownerExists(redis: Redis, ks: KeySpace, owner: KeyOwner, orgId: string): Promise<boolean> {
  return (await loadPrincipal(redis, ks, owner, orgId)) !== undefined;
}
