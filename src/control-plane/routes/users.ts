/**
 * Users, teams, service accounts and the built-in roles of the caller's org. Reading needs any
 * valid key of the org (to pick whom to grant); changing needs `user_access_manage` and the org
 * admin role.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  ADMIN_API, createServiceAccountRequestSchema, createTeamRequestSchema, createUserRequestSchema, teamMembersRequestSchema,
} from '../../contracts/admin-api.js';
import { requireCaller, requireOrgAdmin, type Caller } from '../auth/access.js';
import type { Headers } from '../auth/keys.js';
import type { ControlPlaneDeps } from '../deps.js';
import { parseInput } from '../http-errors.js';
import { SCOPES } from '../store/credentials.js';
import {
  BUILT_IN_ROLES, addServiceAccount, addTeam, addUser, listServiceAccounts, listTeams, listUsers, setTeamMembers,
} from '../store/principals.js';

const idParamsSchema = z.object({ id: z.string().min(1) });

export function userRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  const { redis, ks } = deps;
  const manager = async (headers: Headers, what: string): Promise<Caller> => {
    const caller = await requireCaller(deps, headers, SCOPES.userAccessManage);
    requireOrgAdmin(caller, what);
    return caller;
  };
  return async (app) => {
    app.get(ADMIN_API.roles, async (request) => {
      await requireCaller(deps, request.headers, []);
      return { roles: BUILT_IN_ROLES };
    });

    app.get(ADMIN_API.users, async (request) => {
      const caller = await requireCaller(deps, request.headers, []);
      return { users: await listUsers(redis, ks, caller.orgId) };
    });
    app.post(ADMIN_API.users, async (request, reply) => {
      const caller = await manager(request.headers, 'creating users');
      const body = parseInput(createUserRequestSchema, request.body ?? {}, 'body');
      return reply.status(201).send(await addUser(redis, ks, caller.orgId, body, deps.now()));
    });

    app.get(ADMIN_API.teams, async (request) => {
      const caller = await requireCaller(deps, request.headers, []);
      return { teams: await listTeams(redis, ks, caller.orgId) };
    });
    app.post(ADMIN_API.teams, async (request, reply) => {
      const caller = await manager(request.headers, 'creating teams');
      const body = parseInput(createTeamRequestSchema, request.body ?? {}, 'body');
      return reply.status(201).send(await addTeam(redis, ks, caller.orgId, body, deps.now()));
    });
    app.put(`${ADMIN_API.teams}/:id/members`, async (request) => {
      const caller = await manager(request.headers, 'changing teams');
      const { id } = parseInput(idParamsSchema, request.params, 'params');
      const body = parseInput(teamMembersRequestSchema, request.body ?? {}, 'body');
      return setTeamMembers(redis, ks, caller.orgId, id, body.members);
    });

    app.get(ADMIN_API.serviceAccounts, async (request) => {
      const caller = await requireCaller(deps, request.headers, []);
      return { serviceAccounts: await listServiceAccounts(redis, ks, caller.orgId) };
    });
    app.post(ADMIN_API.serviceAccounts, async (request, reply) => {
      const caller = await manager(request.headers, 'creating service accounts');
      const body = parseInput(createServiceAccountRequestSchema, request.body ?? {}, 'body');
      return reply.status(201).send(await addServiceAccount(redis, ks, caller.orgId, body, deps.now()));
    });
  };
}
