/**
 * API keys (org level, for enrollment; org admins with `user_access_manage`) and app keys (any
 * caller for itself, with at most its own scopes; for another principal or with more scopes:
 * `user_access_manage` and the org admin role). Keys are shown once, at creation.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ADMIN_API,
  apiKeysResponseSchema,
  appKeysResponseSchema,
  createApiKeyRequestSchema,
  createApiKeyResponseSchema,
  createAppKeyRequestSchema,
  createAppKeyResponseSchema,
  type CreateApiKeyResponse,
  type CreateAppKeyResponse,
} from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import { isOrgAdmin, requireOrgAdmin, type Caller } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { noContentSchema, withErrors } from '../schema-compilers.js';
import { idParamsSchema } from './params.js';
import { SCOPES, scopeSatisfies, type KeyOwner } from '../store/credentials.js';
import {
  createApiKey,
  createAppKey,
  getAppKeyById,
  listApiKeys,
  listAppKeys,
  revokeApiKey,
  revokeAppKey,
  toAppKeyView,
} from '../store/keys.js';
import { ownerExists } from '../store/principals.js';

/** Org admin whose key carries user_access_manage: may manage every key of the org. */
function isKeyManager(caller: Caller): boolean {
  return isOrgAdmin(caller) && scopeSatisfies(caller.key.scopes, SCOPES.userAccessManage);
}

function sameOwner(a: KeyOwner, b: KeyOwner): boolean {
  return a.type === b.type && a.id === b.id;
}

export function keyRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const { redis, ks } = deps;
  const apiKeyManager = callerGuard(deps, SCOPES.userAccessManage, (caller) => requireOrgAdmin(caller, 'managing API keys'));
  const anyCaller = callerGuard(deps, []);
  const tags = ['keys'];
  return async (app) => {
    app.post(
      ADMIN_API.apiKeys,
      {
        schema: {
          tags,
          summary: 'Create an API key (shown once)',
          security: SECURITY.appKey,
          body: createApiKeyRequestSchema,
          response: withErrors({ 201: createApiKeyResponseSchema }),
        },
        preValidation: apiKeyManager.preValidation,
      },
      async (request, reply) => {
        const caller = apiKeyManager.of(request);
        const { body } = request;
        const { id, key } = await createApiKey(redis, ks, caller.orgId, body.name, deps.now());
        request.log.info({ keyId: id }, 'API key created');
        const response: CreateApiKeyResponse = { id, name: body.name, key };
        return reply.status(201).send(response);
      },
    );
    app.get(
      ADMIN_API.apiKeys,
      {
        schema: {
          tags,
          summary: "List the org's API keys (never the keys themselves)",
          security: SECURITY.appKey,
          response: withErrors({ 200: apiKeysResponseSchema }),
        },
        preValidation: apiKeyManager.preValidation,
      },
      async (request) => {
        const caller = apiKeyManager.of(request);
        return { apiKeys: await listApiKeys(redis, ks, caller.orgId) };
      },
    );
    app.delete(
      `${ADMIN_API.apiKeys}/:id`,
      {
        schema: {
          tags,
          summary: 'Revoke an API key',
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 204: noContentSchema }),
        },
        preValidation: apiKeyManager.preValidation,
      },
      async (request, reply) => {
        const caller = apiKeyManager.of(request);
        const { id } = request.params;
        await revokeApiKey(redis, ks, caller.orgId, id, deps.now());
        request.log.info({ keyId: id }, 'API key revoked');
        return reply.status(204).send();
      },
    );

    app.post(
      ADMIN_API.appKeys,
      {
        schema: {
          tags,
          summary: 'Create an app key (shown once)',
          security: SECURITY.appKey,
          body: createAppKeyRequestSchema,
          response: withErrors({ 201: createAppKeyResponseSchema }),
        },
        preValidation: anyCaller.preValidation,
      },
      async (request, reply) => {
        const caller = anyCaller.of(request);
        const { body } = request;
        const self: KeyOwner = { type: caller.principal.type, id: caller.principal.id };
        const owner = body.owner ?? self;
        if (!isKeyManager(caller)) {
          if (!sameOwner(owner, self)) {
            if (!scopeSatisfies(caller.key.scopes, SCOPES.userAccessManage))
              throw new ParError('PAR_ERR_AUTH_SCOPE_MISSING', `${SCOPES.userAccessManage} (to create a key for another principal)`);
            throw new ParError('PAR_ERR_AUTH_FORBIDDEN', 'creating a key for another principal needs the org admin role');
          }
          // A key can hand on what it has, never more.
          const extra = body.scopes.filter((s) => !scopeSatisfies(caller.key.scopes, s));
          if (extra.length > 0)
            throw new ParError('PAR_ERR_AUTH_FORBIDDEN', `your key lacks the scopes it would grant: ${extra.join(', ')}`);
        }
        if (!(await ownerExists(redis, ks, owner, caller.orgId))) throw new ParError('PAR_ERR_NOT_FOUND', `${owner.type} ${owner.id}`);
        const scopes = [...new Set(body.scopes)];
        const { id, key } = await createAppKey(redis, ks, { orgId: caller.orgId, owner, name: body.name, scopes }, deps.now());
        request.log.info({ keyId: id, owner }, 'app key created');
        const response: CreateAppKeyResponse = { id, name: body.name, scopes, owner, key };
        return reply.status(201).send(response);
      },
    );
    app.get(
      ADMIN_API.appKeys,
      {
        schema: {
          tags,
          summary: 'List app keys: your own, or every one for a key manager (never the keys themselves)',
          security: SECURITY.appKey,
          response: withErrors({ 200: appKeysResponseSchema }),
        },
        preValidation: anyCaller.preValidation,
      },
      async (request) => {
        const caller = anyCaller.of(request);
        const self: KeyOwner = { type: caller.principal.type, id: caller.principal.id };
        const all = await listAppKeys(redis, ks, caller.orgId);
        const visible = isKeyManager(caller) ? all : all.filter((k) => sameOwner(k.owner, self));
        return { appKeys: visible.map(toAppKeyView) };
      },
    );
    app.delete(
      `${ADMIN_API.appKeys}/:id`,
      {
        schema: {
          tags,
          summary: 'Revoke an app key',
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 204: noContentSchema }),
        },
        preValidation: anyCaller.preValidation,
      },
      async (request, reply) => {
        const caller = anyCaller.of(request);
        const { id } = request.params;
        const found = await getAppKeyById(redis, ks, caller.orgId, id);
        const self: KeyOwner = { type: caller.principal.type, id: caller.principal.id };
        if (!found || (!isKeyManager(caller) && !sameOwner(found.record.owner, self)))
          throw new ParError('PAR_ERR_NOT_FOUND', `app key ${id}`);
        await revokeAppKey(redis, ks, found.hash, deps.now());
        request.log.info({ keyId: id }, 'app key revoked');
        return reply.status(204).send();
      },
    );
  };
}
