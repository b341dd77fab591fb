/**
 * Users, teams, service accounts and the built-in roles of the caller's org. Reading needs any
 * valid key of the org (to pick whom to grant); changing needs `user_access_manage` and the org
 * admin role.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ADMIN_API,
  createServiceAccountRequestSchema,
  createTeamRequestSchema,
  createUserRequestSchema,
  rolesResponseSchema,
  serviceAccountViewSchema,
  serviceAccountsResponseSchema,
  teamMembersRequestSchema,
  teamViewSchema,
  teamsResponseSchema,
  userViewSchema,
  usersResponseSchema,
} from '../../contracts/admin-api.js';
import { requireOrgAdmin } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { withErrors } from '../schema-compilers.js';
import { idParamsSchema } from './params.js';
import { SCOPES } from '../store/credentials.js';
import {
  BUILT_IN_ROLES,
  addServiceAccount,
  addTeam,
  addUser,
  listServiceAccounts,
  listTeams,
  listUsers,
  setTeamMembers,
} from '../store/principals.js';

export function userRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const { redis, ks } = deps;
  const manager = (what: string) => callerGuard(deps, SCOPES.userAccessManage, (caller) => requireOrgAdmin(caller, what));
  const anyCaller = callerGuard(deps, []);
  const userCreator = manager('creating users');
  const teamCreator = manager('creating teams');
  const teamChanger = manager('changing teams');
  const serviceAccountCreator = manager('creating service accounts');
  const tags = ['principals'];
  return async (app) => {
    app.get(
      ADMIN_API.roles,
      {
        schema: { tags, summary: 'The built-in org roles', security: SECURITY.appKey, response: withErrors({ 200: rolesResponseSchema }) },
        preValidation: anyCaller.preValidation,
      },
      async () => ({ roles: [...BUILT_IN_ROLES] }),
    );

    app.get(
      ADMIN_API.users,
      {
        schema: { tags, summary: "The org's users", security: SECURITY.appKey, response: withErrors({ 200: usersResponseSchema }) },
        preValidation: anyCaller.preValidation,
      },
      async (request) => ({ users: await listUsers(redis, ks, anyCaller.of(request).orgId) }),
    );
    app.post(
      ADMIN_API.users,
      {
        schema: {
          tags,
          summary: 'Create a user (org admin)',
          security: SECURITY.appKey,
          body: createUserRequestSchema,
          response: withErrors({ 201: userViewSchema }),
        },
        preValidation: userCreator.preValidation,
      },
      async (request, reply) => {
        const caller = userCreator.of(request);
        return reply.status(201).send(await addUser(redis, ks, caller.orgId, request.body, deps.now()));
      },
    );

    app.get(
      ADMIN_API.teams,
      {
        schema: { tags, summary: "The org's teams", security: SECURITY.appKey, response: withErrors({ 200: teamsResponseSchema }) },
        preValidation: anyCaller.preValidation,
      },
      async (request) => ({ teams: await listTeams(redis, ks, anyCaller.of(request).orgId) }),
    );
    app.post(
      ADMIN_API.teams,
      {
        schema: {
          tags,
          summary: 'Create a team (org admin)',
          security: SECURITY.appKey,
          body: createTeamRequestSchema,
          response: withErrors({ 201: teamViewSchema }),
        },
        preValidation: teamCreator.preValidation,
      },
      async (request, reply) => {
        const caller = teamCreator.of(request);
        return reply.status(201).send(await addTeam(redis, ks, caller.orgId, request.body, deps.now()));
      },
    );
    app.put(
      `${ADMIN_API.teams}/:id/members`,
      {
        schema: {
          tags,
          summary: "Replace a team's members (org admin)",
          security: SECURITY.appKey,
          params: idParamsSchema,
          body: teamMembersRequestSchema,
          response: withErrors({ 200: teamViewSchema }),
        },
        preValidation: teamChanger.preValidation,
      },
      async (request) => {
        const caller = teamChanger.of(request);
        return setTeamMembers(redis, ks, caller.orgId, request.params.id, request.body.members);
      },
    );

    app.get(
      ADMIN_API.serviceAccounts,
      {
        schema: {
          tags,
          summary: "The org's service accounts",
          security: SECURITY.appKey,
          response: withErrors({ 200: serviceAccountsResponseSchema }),
        },
        preValidation: anyCaller.preValidation,
      },
      async (request) => ({ serviceAccounts: await listServiceAccounts(redis, ks, anyCaller.of(request).orgId) }),
    );
    app.post(
      ADMIN_API.serviceAccounts,
      {
        schema: {
          tags,
          summary: 'Create a service account (org admin)',
          security: SECURITY.appKey,
          body: createServiceAccountRequestSchema,
          response: withErrors({ 201: serviceAccountViewSchema }),
        },
        preValidation: serviceAccountCreator.preValidation,
      },
      async (request, reply) => {
        const caller = serviceAccountCreator.of(request);
        return reply.status(201).send(await addServiceAccount(redis, ks, caller.orgId, request.body, deps.now()));
      },
    );
  };
}
