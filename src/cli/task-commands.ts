/** `par task run`: submit a task to a runner through the control plane, optionally wait for its result. */
import type { Command } from 'commander';
import { loadCliConfig } from '../config/cli.js';
import { ParError } from '../errors/par-error.js';
import { ApiClient } from './api-client.js';
import { failStartup } from './process-lifecycle.js';

export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('run and inspect tasks');
  task
    .command('run')
    .description('submit a task to a runner; with --wait, print its result')
    .requiredOption('--action <fqn>', 'action name, e.g. com.datadoghq.http.request')
    .requiredOption('--runner <name-or-id>', 'runner name or id')
    .option('--input <json>', 'action inputs as a JSON object', '{}')
    .option('--connection <id>', 'connection id')
    .option('--timeout <ms>', 'action timeout in milliseconds', '60000')
    .option(
      '--idempotency-key <key>',
      'sent as Idempotency-Key: running the same command again with the same key returns the task the first run created instead of a second one',
    )
    .option('--wait', 'wait for the result and print it')
    .option('--wait-timeout <ms>', 'how long --wait waits', '120000')
    .option('--base-url <url>', 'control plane URL (default PAR_CONTROL_PLANE_URL / DD_BASE_URL)')
    .action(
      async (opts: {
        action: string;
        runner: string;
        input: string;
        connection?: string;
        idempotencyKey?: string;
        timeout: string;
        wait?: boolean;
        waitTimeout: string;
        baseUrl?: string;
      }) => {
        let client: ApiClient;
        let inputs: unknown;
        try {
          client = new ApiClient(loadCliConfig(process.env, { controlPlaneUrl: opts.baseUrl }));
          inputs = JSON.parse(opts.input);
          if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) throw new Error('not an object');
        } catch (error) {
          if (error instanceof ParError) failStartup(error);
          failStartup(new ParError('PAR_ERR_REQUEST_INVALID', `--input must be a JSON object (${(error as Error).message})`));
        }
        try {
          const request = {
            runner: opts.runner,
            action: opts.action,
            inputs: inputs as Record<string, unknown>,
            timeoutMs: Number(opts.timeout),
            ...(opts.connection ? { connectionId: opts.connection } : {}),
          };
          const submitOptions = { idempotencyKey: opts.idempotencyKey };
          if (!opts.wait) {
            const { task: submitted, replayed } = await client.submit(request, submitOptions);
            process.stdout.write(
              `${JSON.stringify({ taskId: submitted.id, state: submitted.state, ...(opts.idempotencyKey !== undefined ? { replayed } : {}) })}\n`,
            );
            return;
          }
          // One request when the result comes within a round (submit-and-wait), more rounds after that.
          const { task: view } = await client.submitAndWait(request, Number(opts.waitTimeout), submitOptions);
          if (view.state === 'succeeded') {
            process.stdout.write(`${JSON.stringify(view.outcome?.output ?? null, null, 2)}\n`);
            return;
          }
          if (view.state === 'failed' || view.state === 'cancelled') {
            const err = view.outcome?.error;
            process.stderr.write(
              `task ${view.id} ${view.outcome?.kind ?? 'failed'}: ${err ? `${err.code}: ${err.message}` : 'no error recorded'}\n`,
            );
            process.exitCode = 1;
            return;
          }
          process.stderr.write(`task ${view.id} is still ${view.state} after --wait-timeout\n`);
          process.exitCode = 2;
        } catch (error) {
          failStartup(error);
        }
      },
    );
}
