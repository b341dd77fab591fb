/** `par runners ls|show|rm|grant`: the runners the app key's owner can see, and their grants. */
import type { Command } from 'commander';
import { principalRefSchema, putGrantRequestSchema, type AdminRunnerView, type Grant } from '../contracts/admin-api.js';
import { ParError } from '../errors/par-error.js';
import { formatTime, print, printJson, renderTable, runAdmin, withCommonOptions } from './cli-output.js';

type Common = { json?: boolean; baseUrl?: string };

function grantsTable(grants: readonly Grant[]): string {
  return renderTable(
    ['PRINCIPAL', 'ID', 'ROLE'],
    grants.map((g) => [g.principal.type, g.principal.id, g.role]),
  );
}

/** `user:<id>`, `team:<id>`, `role:<name>`, `service_account:<id>` (or `sa:<id>`). */
export function parsePrincipal(text: string): { type: 'user' | 'team' | 'role' | 'service_account'; id: string } {
  const at = text.indexOf(':');
  const type = at > 0 ? text.slice(0, at).replace(/^sa$/, 'service_account').replace('-', '_') : '';
  const parsed = principalRefSchema.safeParse({ type, id: text.slice(at + 1) });
  if (!parsed.success)
    throw new ParError('PAR_ERR_REQUEST_INVALID', `principal "${text}": use user:<id>, team:<id>, role:<name> or service_account:<id>`);
  return parsed.data;
}

export function registerRunnersCommands(program: Command): void {
  const runners = program.command('runners').description('list, inspect, delete runners and grant access to them');

  withCommonOptions(runners.command('ls').description('list the runners you can view')).action((opts: Common) =>
    runAdmin(opts, async (client) => {
      const list = await client.listRunners();
      if (opts.json) {
        printJson({ runners: list });
        return;
      }
      print(
        renderTable(
          ['NAME', 'ID', 'ACCESS', 'STATUS', 'VERSION', 'CONNECTIONS', 'LAST SEEN'],
          list.map((r) => [r.name, r.id, r.access, r.status, r.version, r.connections, formatTime(r.lastSeenAt)]),
        ),
      );
    }),
  );

  withCommonOptions(runners.command('show <runner>').description('one runner (id or name) with its grants')).action(
    (runner: string, opts: Common) =>
      runAdmin(opts, async (client) => {
        const view: AdminRunnerView = await client.getRunner(runner);
        const grants = await client.getGrants(view.id);
        if (opts.json) {
          printJson({ runner: view, grants });
          return;
        }
        const fields: [string, string][] = [
          ['name', view.name],
          ['id', view.id],
          ['urn', view.urn],
          ['your access', view.access],
          ['status', view.status ?? '-'],
          ['version', view.version],
          ['modes', view.modes.join(', ')],
          ['allowlist', view.allowlist.join(', ') || '-'],
          ['connections', String(view.connections)],
          ['created', formatTime(view.createdAt)],
          ['last seen', formatTime(view.lastSeenAt)],
        ];
        print(fields.map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`).join('\n'));
        print(`\nGrants:\n${grantsTable(grants)}`);
      }),
  );

  withCommonOptions(runners.command('rm <runner>').description('delete a runner (editor); its identity stops working at once'))
    .option('--force', 'also delete the connections that use it')
    .action((runner: string, opts: Common & { force?: boolean }) =>
      runAdmin(opts, async (client) => {
        const view = await client.getRunner(runner);
        await client.deleteRunner(view.id, opts.force === true);
        if (opts.json) {
          printJson({ deleted: view.id });
          return;
        }
        print(`deleted runner ${view.name} (${view.id})`);
      }),
    );

  withCommonOptions(
    runners
      .command('grant <runner> <principal> <role>')
      .description('give a principal (user:<id>, team:<id>, role:<name>, service_account:<id>) viewer|contributor|editor access, or none'),
  ).action((runner: string, principal: string, role: string, opts: Common) =>
    runAdmin(opts, async (client) => {
      const parsed = putGrantRequestSchema.safeParse({ principal: parsePrincipal(principal), role });
      if (!parsed.success) throw new ParError('PAR_ERR_REQUEST_INVALID', `role "${role}": use viewer, contributor, editor or none`);
      const grants = await client.putGrant(runner, parsed.data);
      if (opts.json) {
        printJson({ grants });
        return;
      }
      print(grantsTable(grants));
    }),
  );
}
