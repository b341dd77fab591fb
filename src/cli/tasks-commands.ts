/** `par tasks ls|show|cancel`: recent tasks of the runners you can view, one task with its history, cancelling one. */
import type { Command } from 'commander';
import { MAX_TASK_LIST_LIMIT } from '../contracts/admin-api.js';
import { ParError } from '../errors/par-error.js';
import { formatTime, print, printJson, renderTable, runAdmin, withCommonOptions } from './cli-output.js';

type Common = { json?: boolean; baseUrl?: string };

export function registerTasksCommands(program: Command): void {
  const tasks = program.command('tasks').description('list and inspect tasks');

  withCommonOptions(tasks.command('ls').description('recent tasks, newest first'))
    .option('--runner <runner>', 'only this runner (id or name)')
    .option('--limit <n>', `how many (1-${MAX_TASK_LIST_LIMIT})`, '20')
    .action((opts: Common & { runner?: string; limit: string }) =>
      runAdmin(opts, async (client) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TASK_LIST_LIMIT)
          throw new ParError('PAR_ERR_REQUEST_INVALID', `--limit: an integer from 1 to ${MAX_TASK_LIST_LIMIT}`);
        const list = await client.listTasks(opts.runner, limit);
        if (opts.json) {
          printJson({ tasks: list });
          return;
        }
        print(
          renderTable(
            ['ID', 'RUNNER', 'ACTION', 'STATE', 'ATTEMPTS', 'CREATED', 'ERROR'],
            list.map((t) => [t.id, t.runnerId, t.action, t.state, t.attempts, formatTime(t.createdAt), t.outcome?.error?.code]),
          ),
        );
      }),
    );

  withCommonOptions(tasks.command('show <id>').description('one task: state, result and history')).action((id: string, opts: Common) =>
    runAdmin(opts, async (client) => {
      const [task, events] = await Promise.all([client.getTask(id), client.getTaskEvents(id)]);
      if (opts.json) {
        printJson({ task, events });
        return;
      }
      const fields: [string, string][] = [
        ['id', task.id],
        ['runner', task.runnerId],
        ['action', task.action],
        ['state', task.state],
        ['attempts', String(task.attempts)],
        ['created', formatTime(task.createdAt)],
        ['finished', formatTime(task.finishedAt)],
      ];
      if (task.outcome?.error) fields.push(['error', `${task.outcome.error.code}: ${task.outcome.error.message}`]);
      print(fields.map(([k, v]) => `${`${k}:`.padEnd(10)}${v}`).join('\n'));
      if (task.outcome?.kind === 'succeeded') print(`output:\n${JSON.stringify(task.outcome.output ?? null, null, 2)}`);
      print(
        `\nHistory:\n${renderTable(
          ['AT', 'EVENT', 'ATTEMPT'],
          events.map((e) => [formatTime(e.at), e.type, e.attempt]),
        )}`,
      );
    }),
  );

  withCommonOptions(
    tasks
      .command('cancel <id>')
      .description('cancel a task: a queued one never runs, a running one is stopped (contributor on its runner)'),
  ).action((id: string, opts: Common) =>
    runAdmin(opts, async (client) => {
      const task = await client.cancelTask(id);
      if (opts.json) {
        printJson({ task });
        return;
      }
      print(`task ${task.id}: ${task.state}`);
    }),
  );
}
