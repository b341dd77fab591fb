/**
 * `com.datadoghq.mongodb.testConnection`, as the vendor's: the credential file is read
 * (`configurationValid`), the server is pinged, which logs in (`connectionValid`), and
 * `buildInfo` gives the server version (a failure there is only a warning). Problems are
 * reported in `errors` rather than as a failed task; only a cancellation fails it. Each message
 * is our classified one, so no host, user or password text from the driver appears.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { classifyMongoError } from './classify.js';
import type { MongoClientCache } from './clients.js';
import { mongoSettingsFromCredentials, type MongoSettings } from './connection-settings.js';
import { testConnectionInputSchema } from './inputs.js';

export interface MongoTestConnectionOutput {
  configurationValid: boolean;
  connectionValid: boolean;
  serverInfo?: { version: string };
  errors: string[];
}

export function mongoTestConnectionAction(deps: { readonly clients: MongoClientCache }): RegisteredAction {
  return defineAction({
    fqn: 'com.datadoghq.mongodb.testConnection',
    inputSchema: testConnectionInputSchema,
    run: async (_inputs, ctx): Promise<MongoTestConnectionOutput> => {
      let settings: MongoSettings;
      try {
        settings = mongoSettingsFromCredentials(ctx.credentials);
      } catch (error) {
        if (!(error instanceof ParError)) throw error;
        return { configurationValid: false, connectionValid: false, errors: [error.message] };
      }
      const signal = ctx.signal;
      const failed = (error: unknown): ParError => {
        const classified = classifyMongoError(error, { taskSignal: signal });
        if (classified.code === 'PAR_ERR_TASK_CANCELLED') throw classified;
        return classified;
      };
      let lease;
      try {
        lease = await deps.clients.lease(settings);
      } catch (error) {
        return { configurationValid: true, connectionValid: false, errors: [`Failed to ping MongoDB server: ${failed(error).message}`] };
      }
      try {
        const admin = lease.client.db('admin');
        try {
          await admin.command({ ping: 1 }, { signal });
        } catch (error) {
          return { configurationValid: true, connectionValid: false, errors: [`Failed to ping MongoDB server: ${failed(error).message}`] };
        }
        try {
          const info = await admin.command({ buildInfo: 1 }, { signal });
          return { configurationValid: true, connectionValid: true, serverInfo: { version: String(info['version'] ?? '') }, errors: [] };
        } catch (error) {
          return {
            configurationValid: true,
            connectionValid: true,
            errors: [`Warning: failed to get server version: ${failed(error).message}`],
          };
        }
      } finally {
        lease.release();
      }
    },
  });
}
