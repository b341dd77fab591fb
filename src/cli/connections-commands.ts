/** `par connections ls|create|rm`: connections on runners (never a secret: only where the runner finds it). */
import type { Command } from 'commander';
import { INTEGRATIONS, integrationSchema } from '../contracts/admin-api.js';
import { ParError } from '../errors/par-error.js';
import { formatTime, print, printJson, renderTable, runAdmin, withCommonOptions } from './cli-output.js';

type Common = { json?: boolean; baseUrl?: string };

function parseSettings(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ParError('PAR_ERR_REQUEST_INVALID', `--settings must be a JSON object (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ParError('PAR_ERR_REQUEST_INVALID', '--settings must be a JSON object');
  return value as Record<string, unknown>;
}

export function registerConnectionsCommands(program: Command): void {
  const connections = program.command('connections').description('list, create and delete connections');

  withCommonOptions(connections.command('ls').description('connections on the runners you can view'))
    .option('--runner <runner>', 'only this runner (id or name)')
    .action((opts: Common & { runner?: string }) =>
      runAdmin(opts, async (client) => {
        const list = await client.listConnections(opts.runner);
        if (opts.json) {
          printJson({ connections: list });
          return;
        }
        print(
          renderTable(
            ['NAME', 'ID', 'RUNNER', 'INTEGRATION', 'CREDENTIAL PATH', 'UPDATED'],
            list.map((c) => [c.name, c.id, c.runnerId, c.integration, c.credentialPath, formatTime(c.updatedAt)]),
          ),
        );
      }),
    );

  withCommonOptions(connections.command('create').description('create a connection on a runner (contributor)'))
    .requiredOption('--runner <runner>', 'runner id or name')
    .requiredOption('--name <name>', 'connection name (unique on the runner)')
    .requiredOption('--integration <type>', INTEGRATIONS.join(' | '))
    .option('--credential-path <path>', 'credential file on the runner, relative to its config dir')
    .option('--settings <json>', 'non-secret settings as a JSON object (base URL, header templates, kubeconfig context)')
    .action((opts: Common & { runner: string; name: string; integration: string; credentialPath?: string; settings?: string }) =>
      runAdmin(opts, async (client) => {
        const integration = integrationSchema.safeParse(opts.integration);
        if (!integration.success) throw new ParError('PAR_ERR_REQUEST_INVALID', `--integration: one of ${INTEGRATIONS.join(', ')}`);
        const created = await client.createConnection({
          runnerId: opts.runner,
          name: opts.name,
          integration: integration.data,
          settings: parseSettings(opts.settings),
          ...(opts.credentialPath !== undefined ? { credentialPath: opts.credentialPath } : {}),
        });
        if (opts.json) {
          printJson(created);
          return;
        }
        print(`created connection ${created.name} (${created.id})`);
      }),
    );

  withCommonOptions(connections.command('rm <id>').description('delete a connection (refused while tasks use it)')).action(
    (id: string, opts: Common) =>
      runAdmin(opts, async (client) => {
        await client.deleteConnection(id);
        if (opts.json) {
          printJson({ deleted: id });
          return;
        }
        print(`deleted connection ${id}`);
      }),
  );
}
