/** `par keys ls|create|revoke`: app keys (default) and org API keys (`--api`); a key is shown once. */
import type { Command } from 'commander';
import { keyOwnerSchema, SCOPE_NAMES, scopeSchema, type ScopeName } from '../contracts/admin-api.js';
import { ParError } from '../errors/par-error.js';
import { formatTime, print, printJson, renderTable, runAdmin, withCommonOptions } from './cli-output.js';

type Common = { json?: boolean; baseUrl?: string; api?: boolean };

function parseScopes(text: string): ScopeName[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const parsed = scopeSchema.safeParse(s);
      if (!parsed.success) throw new ParError('PAR_ERR_REQUEST_INVALID', `scope "${s}": one of ${SCOPE_NAMES.join(', ')}`);
      return parsed.data;
    });
}

function parseOwner(text: string): { type: 'user' | 'service_account'; id: string } {
  const at = text.indexOf(':');
  const parsed = keyOwnerSchema.safeParse({ type: text.slice(0, at).replace(/^sa$/, 'service_account'), id: text.slice(at + 1) });
  if (at <= 0 || !parsed.success) throw new ParError('PAR_ERR_REQUEST_INVALID', `--owner "${text}": use user:<id> or service_account:<id>`);
  return parsed.data;
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('application keys and API keys');

  withCommonOptions(keys.command('ls').description('list keys (never the keys themselves)'))
    .option('--api', 'org API keys instead of application keys')
    .action((opts: Common) =>
      runAdmin(opts, async (client) => {
        if (opts.api) {
          const list = await client.listApiKeys();
          if (opts.json) {
            printJson({ apiKeys: list });
            return;
          }
          print(
            renderTable(
              ['NAME', 'ID', 'CREATED', 'REVOKED'],
              list.map((k) => [k.name, k.id, formatTime(k.createdAt), formatTime(k.revokedAt)]),
            ),
          );
          return;
        }
        const list = await client.listAppKeys();
        if (opts.json) {
          printJson({ appKeys: list });
          return;
        }
        print(
          renderTable(
            ['NAME', 'ID', 'OWNER', 'SCOPES', 'CREATED', 'REVOKED'],
            list.map((k) => [
              k.name,
              k.id,
              `${k.owner.type}:${k.owner.id}`,
              k.scopes.join(','),
              formatTime(k.createdAt),
              formatTime(k.revokedAt),
            ]),
          ),
        );
      }),
    );

  withCommonOptions(keys.command('create <name>').description('create a key; it is printed once and stored hashed'))
    .option('--api', 'an org API key (for enrollment) instead of an application key')
    .option('--scopes <list>', 'comma-separated scopes of an application key', 'on_prem_runner_read,actions_run')
    .option('--owner <principal>', 'user:<id> or service_account:<id> (default: yourself)')
    .action((name: string, opts: Common & { scopes: string; owner?: string }) =>
      runAdmin(opts, async (client) => {
        if (opts.api) {
          const created = await client.createApiKey(name);
          if (opts.json) {
            printJson(created);
            return;
          }
          print(`API key ${created.name} (${created.id}), shown once:\n${created.key}`);
          return;
        }
        const created = await client.createAppKey({
          name,
          scopes: parseScopes(opts.scopes),
          ...(opts.owner ? { owner: parseOwner(opts.owner) } : {}),
        });
        if (opts.json) {
          printJson(created);
          return;
        }
        print(
          `application key ${created.name} (${created.id}) for ${created.owner.type}:${created.owner.id}, scopes ${created.scopes.join(',')}, shown once:\n${created.key}`,
        );
      }),
    );

  withCommonOptions(keys.command('revoke <id>').description('revoke a key by id; it stops working on the next call'))
    .option('--api', 'an org API key instead of an application key')
    .action((id: string, opts: Common) =>
      runAdmin(opts, async (client) => {
        if (opts.api) await client.revokeApiKey(id);
        else await client.revokeAppKey(id);
        if (opts.json) {
          printJson({ revoked: id });
          return;
        }
        print(`revoked ${opts.api ? 'API' : 'application'} key ${id}`);
      }),
    );
}
