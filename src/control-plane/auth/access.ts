/**
 * Who is calling and what they may do on a runner. Every admin route does the same two steps:
 * the app key must carry the route's scope (403 PAR_ERR_AUTH_SCOPE_MISSING), then the key owner
 * needs enough access on the runner (403 PAR_ERR_AUTH_FORBIDDEN; a runner it cannot even view is
 * 404 PAR_ERR_NOT_FOUND, so its existence does not leak).
 */
import type { RunnerAccess } from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import type { ControlPlaneDeps } from '../deps.js';
import type { AppKeyRecord, Scope } from '../store/credentials.js';
import { atLeast, effectiveAccess } from '../store/grants.js';
import type { Principal } from '../store/principals.js';
import { findRunnerInOrg, type RunnerRecord } from '../store/runners.js';
import { appKeyHeader, checkAppKey, type Headers } from './keys.js';

export interface Caller {
  key: AppKeyRecord;
  principal: Principal;
  orgId: string;
}

export async function requireCaller(deps: ControlPlaneDeps, headers: Headers, scope: Scope | readonly Scope[]): Promise<Caller> {
  const raw = appKeyHeader(headers);
  // Resolved once per key while the auth epoch stands (caller-cache.ts); checked on every call.
  const resolved = raw ? await deps.callers.resolve(raw) : undefined;
  const key = checkAppKey(raw, resolved?.record, scope);
  const principal = resolved?.principal;
  // The owner was removed: the key is as good as revoked.
  if (!principal) throw new ParError('PAR_ERR_AUTH_APP_KEY_INVALID', 'the key owner no longer exists');
  return { key, principal, orgId: key.orgId };
}

export function isOrgAdmin(caller: Caller): boolean {
  return caller.principal.roles.includes('admin');
}

/** Org-level management (users, teams, service accounts, API keys): the admin role. */
export function requireOrgAdmin(caller: Caller, what: string): void {
  if (!isOrgAdmin(caller)) throw new ParError('PAR_ERR_AUTH_FORBIDDEN', `${what} needs the org admin role`);
}

/** Whether the caller's org role lets it create runners and connections at all. */
export function canCreate(caller: Caller): boolean {
  return caller.principal.roles.some((r) => r === 'admin' || r === 'standard');
}

export interface RunnerAccessResult {
  runner: RunnerRecord;
  access: RunnerAccess;
}

/** The runner (by id, or by name in the caller's org) when the caller has at least `needed`. */
export async function requireRunnerAccess(
  deps: ControlPlaneDeps,
  caller: Caller,
  runnerIdOrName: string,
  needed: RunnerAccess,
): Promise<RunnerAccessResult> {
  const runner = await findRunnerInOrg(deps.redis, deps.ks, caller.orgId, runnerIdOrName, deps.runnerNames);
  const access = runner ? await effectiveAccess(deps.redis, deps.ks, caller.principal, runner.id) : undefined;
  if (!runner || access === undefined) throw new ParError('PAR_ERR_NOT_FOUND', `runner ${runnerIdOrName}`);
  if (!atLeast(access, needed))
    throw new ParError('PAR_ERR_AUTH_FORBIDDEN', `${needed} access on runner ${runner.name} needed (you have ${access})`);
  return { runner, access };
}
