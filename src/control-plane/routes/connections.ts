/**
 * Connections on a runner: create, list, read, update, delete. Reading needs viewer on the
 * runner (`connections_read`), changing needs contributor (`connections_write`), and aiming one
 * (creating it with credentials, changing its credentialPath, baseUrl, kubeconfig or other target
 * settings) needs editor (connection-rules.ts). A body carrying a secret is refused (400
 * PAR_ERR_SECRET_REFUSED) before anything else is looked at; a connection breaking the shape rules
 * (an http connection with credentials and no baseUrl, a path leaving the config dir) is 400
 * PAR_ERR_REQUEST_INVALID; deleting a connection that queued or running tasks use is refused (409).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ADMIN_API,
  connectionViewSchema,
  connectionsResponseSchema,
  createConnectionRequestSchema,
  listConnectionsQuerySchema,
  updateConnectionRequestSchema,
} from '../../contracts/admin-api.js';
import { ParError } from '../../errors/par-error.js';
import { requireRunnerAccess, type Caller } from '../auth/access.js';
import { callerGuard } from '../auth/guards.js';
import type { ControlPlaneDeps } from '../deps.js';
import { SECURITY } from '../openapi.js';
import { idParamsSchema } from './params.js';
import { noContentSchema, withErrors } from '../schema-compilers.js';
import { accessToCreate, checkConnectionShape, reaimedFields } from '../connection-rules.js';
import { refuseSecrets } from '../secret-guard.js';
import {
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  toConnectionView,
  updateConnection,
  type ConnectionRecord,
} from '../store/connections.js';
import { SCOPES } from '../store/credentials.js';
import { atLeast, effectiveAccess } from '../store/grants.js';
import { listRunners } from '../store/runners.js';
import { activeTasksUsing } from '../store/task-index.js';

export function connectionRoutes(deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  const { redis, ks } = deps;

  /** The connection when the caller has `needed` on its runner; 404 when it cannot view it. */
  const load = async (caller: Caller, id: string, needed: 'viewer' | 'contributor'): Promise<ConnectionRecord> => {
    const connection = await getConnection(redis, ks, caller.orgId, id);
    if (!connection) throw new ParError('PAR_ERR_NOT_FOUND', `connection ${id}`);
    try {
      await requireRunnerAccess(deps, caller, connection.runnerId, needed);
    } catch (error) {
      if (error instanceof ParError && error.code === 'PAR_ERR_NOT_FOUND') throw new ParError('PAR_ERR_NOT_FOUND', `connection ${id}`);
      throw error;
    }
    return connection;
  };

  const reader = callerGuard(deps, SCOPES.connectionsRead);
  // A body carrying a secret is refused before anything else is looked at.
  const writer = callerGuard(deps, SCOPES.connectionsWrite, (_caller, request) => refuseSecrets(request.body));
  const tags = ['connections'];

  return async (app) => {
    app.post(
      ADMIN_API.connections,
      {
        schema: {
          tags,
          summary: 'Create a connection on a runner',
          security: SECURITY.appKey,
          body: createConnectionRequestSchema,
          response: withErrors({ 201: connectionViewSchema }),
        },
        preValidation: writer.preValidation,
      },
      async (request, reply) => {
        const caller = writer.of(request);
        const { body } = request;
        const shape = { integration: body.integration, settings: body.settings, credentialPath: body.credentialPath };
        checkConnectionShape(shape);
        const { runner } = await requireRunnerAccess(deps, caller, body.runnerId, accessToCreate(shape));
        const id = await createConnection(
          redis,
          ks,
          {
            orgId: caller.orgId,
            runnerId: runner.id,
            name: body.name,
            integration: body.integration,
            settings: body.settings,
            ...(body.credentialPath !== undefined ? { credentialPath: body.credentialPath } : {}),
          },
          deps.now(),
        );
        const created = await getConnection(redis, ks, caller.orgId, id);
        if (!created) throw new ParError('PAR_ERR_INTERNAL', `connection ${id} vanished after create`);
        request.log.info({ connectionId: id, runnerId: runner.id, integration: body.integration }, 'connection created');
        return reply.status(201).send(toConnectionView(created));
      },
    );

    app.get(
      ADMIN_API.connections,
      {
        schema: {
          tags,
          summary: 'List the connections the caller may view',
          security: SECURITY.appKey,
          querystring: listConnectionsQuerySchema,
          response: withErrors({ 200: connectionsResponseSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const { runnerId } = request.query;
        let runnerIds: string[];
        if (runnerId !== undefined) {
          runnerIds = [(await requireRunnerAccess(deps, caller, runnerId, 'viewer')).runner.id];
        } else {
          const runners = await listRunners(redis, ks, caller.orgId);
          const access = await Promise.all(runners.map((r) => effectiveAccess(redis, ks, caller.principal, r.id)));
          runnerIds = runners.filter((_r, i) => access[i] !== undefined).map((r) => r.id);
        }
        return { connections: (await listConnections(redis, ks, caller.orgId, runnerIds)).map(toConnectionView) };
      },
    );

    app.get(
      `${ADMIN_API.connections}/:id`,
      {
        schema: {
          tags,
          summary: 'Read a connection',
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 200: connectionViewSchema }),
        },
        preValidation: reader.preValidation,
      },
      async (request) => {
        const caller = reader.of(request);
        const { id } = request.params;
        return toConnectionView(await load(caller, id, 'viewer'));
      },
    );

    app.patch(
      `${ADMIN_API.connections}/:id`,
      {
        schema: {
          tags,
          summary: 'Change a connection (re-aiming it needs editor)',
          security: SECURITY.appKey,
          params: idParamsSchema,
          body: updateConnectionRequestSchema,
          response: withErrors({ 200: connectionViewSchema }),
        },
        preValidation: writer.preValidation,
      },
      async (request) => {
        const caller = writer.of(request);
        const {
          params: { id },
          body,
        } = request;
        const current = await load(caller, id, 'viewer');
        const next = {
          integration: current.integration,
          settings: body.settings ?? current.settings,
          credentialPath: body.credentialPath === null ? undefined : (body.credentialPath ?? current.credentialPath),
        };
        const reaimed = reaimedFields(current, next);
        const needed = reaimed.length > 0 ? 'editor' : 'contributor';
        const { access } = await requireRunnerAccess(deps, caller, current.runnerId, 'viewer');
        if (!atLeast(access, needed)) {
          const what = reaimed.length > 0 ? `changing ${reaimed.join(', ')} re-aims the connection: ` : '';
          throw new ParError('PAR_ERR_AUTH_FORBIDDEN', `${what}${needed} access on the runner needed (you have ${access})`);
        }
        checkConnectionShape(next);
        const updated = await updateConnection(redis, ks, current, body, deps.now());
        request.log.info({ connectionId: id }, 'connection updated');
        return toConnectionView(updated);
      },
    );

    app.delete(
      `${ADMIN_API.connections}/:id`,
      {
        schema: {
          tags,
          summary: 'Delete a connection no queued or running task uses',
          security: SECURITY.appKey,
          params: idParamsSchema,
          response: withErrors({ 204: noContentSchema }),
        },
        preValidation: writer.preValidation,
      },
      async (request, reply) => {
        const caller = writer.of(request);
        const { id } = request.params;
        const connection = await load(caller, id, 'contributor');
        const tasks = await activeTasksUsing(redis, ks, connection.id);
        if (tasks.length > 0)
          throw new ParError(
            'PAR_ERR_CONNECTION_IN_USE',
            `connection ${connection.name} is used by queued or running tasks ${tasks.join(', ')}`,
          );
        await deleteConnection(redis, ks, connection);
        request.log.info({ connectionId: id }, 'connection deleted');
        return reply.status(204).send();
      },
    );
  };
}
