/**
 * Redis keys of the access-control area (principals, key indexes, connections, task indexes),
 * next to the shared layout in key-space.ts and built from the same prefix.
 */
import type { KeySpace } from './key-space.js';

export interface AccessKeySpace {
  /** Set of the org's user ids. */
  orgUsers(orgId: string): string;
  /** Hash team: id, orgId, name, members (JSON), createdAt. */
  team(teamId: string): string;
  /** Set of the org's team ids. */
  orgTeams(orgId: string): string;
  /** Set of the team ids a user belongs to. */
  userTeams(userId: string): string;
  /** Hash service account: id, orgId, name, roles (space separated), createdAt. */
  serviceAccount(saId: string): string;
  /** Set of the org's service account ids. */
  orgServiceAccounts(orgId: string): string;
  /** Hash key id -> API key hash. */
  orgApiKeyIds(orgId: string): string;
  /** Hash key id -> app key hash. */
  orgAppKeyIds(orgId: string): string;
  /** Hash connection name -> connection id (names unique per runner). */
  runnerConnections(runnerId: string): string;
  /** Sorted set task id -> createdAt of the runner's tasks (newest kept). */
  runnerTasks(runnerId: string): string;
  /** Set of task ids submitted through a connection (pruned of final tasks when read). */
  connectionTasks(connectionId: string): string;
}

export function accessKeySpace(ks: KeySpace): AccessKeySpace {
  const p = ks.prefix;
  return {
    orgUsers: (id) => `${ks.org(id)}:users`,
    team: (id) => `${p}:team:${id}`,
    orgTeams: (id) => `${ks.org(id)}:teams`,
    userTeams: (id) => `${ks.user(id)}:teams`,
    serviceAccount: (id) => `${p}:sa:${id}`,
    orgServiceAccounts: (id) => `${ks.org(id)}:service-accounts`,
    orgApiKeyIds: (id) => `${ks.org(id)}:apikey-ids`,
    orgAppKeyIds: (id) => `${ks.org(id)}:appkey-ids`,
    runnerConnections: (id) => `${ks.runner(id)}:connections`,
    runnerTasks: (id) => `${ks.runner(id)}:tasks`,
    connectionTasks: (id) => `${ks.connection(id)}:tasks`,
  };
}
