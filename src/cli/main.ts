/**
 * The `par` command. Each sub-command is an entry point: it reads its settings from the
 * environment (once, through its loader in src/config), creates the process's root logger and
 * hands both to the process's composition root.
 */
import { Command } from 'commander';
import { loadControlPlaneConfig } from '../config/control-plane.js';
import { loadRunnerConfig } from '../config/runner.js';
import { loadWorkerConfig } from '../config/worker.js';
import { scrubWorkerEnv } from '../config/worker-secrets.js';
import { loadDevConfig } from '../config/dev.js';
import { DEFAULT_SERVICE_NAMES, loadTracingConfig } from '../config/tracing.js';
import { startTracing } from '../tracing/start.js';
import { createRootLogger } from '../logging/logger.js';
import { failStartup, stopOnSignal } from './process-lifecycle.js';
import { waitForBootstrapKeys, writeBootstrapKeys } from './bootstrap-keys-file.js';
import { PACKAGE_VERSION } from '../version.js';
import { ParError } from '../errors/par-error.js';

const program = new Command();
program.name('par').description('private action runner').version(PACKAGE_VERSION);

program
  .command('start')
  .alias('dev')
  .description('run the whole system on this host: Redis (if none answers), control plane, runner, workers')
  .action(async () => {
    const { runDevSystem } = await import('./dev-orchestrator.js');
    try {
      await runDevSystem(loadDevConfig(process.env));
    } catch (error) {
      failStartup(error);
    }
  });

program
  .command('control-plane')
  .description('run the control plane (HTTP API and web page)')
  .action(async () => {
    try {
      const config = loadControlPlaneConfig(process.env);
      const tracingConfig = loadTracingConfig(process.env, DEFAULT_SERVICE_NAMES.controlPlane);
      const logger = createRootLogger({ process: 'control-plane', level: config.logLevel, file: config.logFile });
      const tracing = await startTracing(tracingConfig, logger);
      const { runControlPlane } = await import('../control-plane/server.js');
      const cp = await runControlPlane(config, logger);
      if (cp.adminKeys) {
        process.stdout.write(
          `Generated admin keys (shown once, stored hashed):\n  API key: ${cp.adminKeys.apiKey}\n  app key: ${cp.adminKeys.appKey}\n`,
        );
      }
      const known =
        cp.adminKeys ?? (config.adminApiKey && config.adminAppKey ? { apiKey: config.adminApiKey, appKey: config.adminAppKey } : undefined);
      if (config.bootstrapKeysFile && known) await writeBootstrapKeys(config.bootstrapKeysFile, known);
      logger.info({ url: cp.url }, 'control plane listening');
      stopOnSignal(logger, async () => {
        try {
          await cp.close();
        } finally {
          await tracing.shutdown(); // the last spans leave before exit (bounded)
        }
      });
    } catch (error) {
      failStartup(error);
    }
  });

program
  .command('runner')
  .description('run the private action runner (enrolls on first start)')
  .option('--with-api-key', 'enroll with DD_API_KEY and DD_APP_KEY if this config dir has no identity yet')
  .option('--enrollment-token <token>', 'enroll with a one-time token from the page or POST /api/v1/runners (or PAR_ENROLLMENT_TOKEN)')
  .option('--enroll', 'enroll a new runner, print its config to stdout in the -f format and exit (writes no config.yaml)')
  .option('-f, --format <format>', 'with --enroll: k8s (a Kustomize overlay on deploy/kubernetes) | compose | env')
  .option('--output-dir <dir>', 'with -f k8s: the overlay directory to create (default deploy/overlays/<runner name>)')
  .option('--k8s-base <dir>', 'with -f k8s: the Kustomize base (default deploy/kubernetes of this installation)')
  .action(
    async (opts: {
      withApiKey?: boolean;
      enrollmentToken?: string;
      enroll?: boolean;
      format?: string;
      outputDir?: string;
      k8sBase?: string;
    }) => {
      try {
        if (opts.enroll && !opts.format) throw new ParError('PAR_ERR_CONFIG_INVALID', '--enroll needs -f k8s|compose|env');
        if (opts.format && !opts.enroll) throw new ParError('PAR_ERR_CONFIG_INVALID', '-f is only used with --enroll');
        if (opts.format === 'helm-values') {
          throw new ParError(
            'PAR_ERR_CONFIG_INVALID',
            '-f helm-values: there is no Helm chart in this repository; use -f k8s (a Kustomize overlay on deploy/kubernetes), -f compose or -f env',
          );
        }
        if ((opts.outputDir || opts.k8sBase) && opts.format !== 'k8s')
          throw new ParError('PAR_ERR_CONFIG_INVALID', '--output-dir and --k8s-base are only used with --enroll -f k8s');
        const flags = {
          withApiKey: opts.withApiKey === true,
          ...(opts.enrollmentToken ? { enrollmentToken: opts.enrollmentToken } : {}),
          ...(opts.enroll ? { printFormat: opts.format } : {}),
        };
        let config = loadRunnerConfig(process.env, flags);
        if (config.withApiKey && (!config.apiKey || !config.appKey) && config.bootstrapKeysFile) {
          const keys = await waitForBootstrapKeys(config.bootstrapKeysFile, 60_000);
          config = loadRunnerConfig(process.env, { ...flags, apiKey: keys.apiKey, appKey: keys.appKey });
        }
        // `--enroll -f`: stdout carries the printed config only (`> values.yaml`), so logs go to stderr.
        const logger = createRootLogger({
          process: 'runner',
          level: config.logLevel,
          file: config.logFile,
          stderr: config.printFormat !== undefined,
        });
        if (config.printFormat) {
          const { enrollAndFormat } = await import('../runner/enroll-output.js');
          const text = await enrollAndFormat(config, config.printFormat, logger, {
            image: config.runnerImage,
            ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
            ...(opts.k8sBase ? { k8sBase: opts.k8sBase } : {}),
          });
          process.stdout.write(text, () => process.exit(0));
          return;
        }
        const tracing = await startTracing(loadTracingConfig(process.env, DEFAULT_SERVICE_NAMES.runner), logger);
        const { runRunner } = await import('../runner/main.js');
        const runner = await runRunner(config, logger);
        const close = async (): Promise<void> => {
          try {
            await runner.close();
          } finally {
            await tracing.shutdown();
          }
        };
        stopOnSignal(logger, close);
        const fatal = await runner.fatal;
        logger.fatal({ code: fatal.code }, fatal.message);
        await close();
        failStartup(fatal);
      } catch (error) {
        failStartup(error);
      }
    },
  );

program
  .command('worker')
  .description('run a worker process (executes tasks from the runner queue)')
  .action(async () => {
    try {
      const config = loadWorkerConfig(process.env);
      const tracingConfig = loadTracingConfig(process.env, DEFAULT_SERVICE_NAMES.worker);
      // A worker needs no API/app key; its Redis URL and identity are in `config` now: drop them all.
      const forbidden = scrubWorkerEnv(process.env);
      const logger = createRootLogger({ process: 'worker', level: config.logLevel, file: config.logFile });
      if (forbidden.length > 0)
        logger.warn({ variables: forbidden }, 'removed from the worker environment: a worker needs none of these, do not pass them to it');
      const tracing = await startTracing(tracingConfig, logger);
      const { runWorker } = await import('../../workers/main.js');
      // Installed before start-up so a signal also ends the wait for the runner's identity.
      const abort = new AbortController();
      let worker: { close(): Promise<void> } | undefined = undefined;
      stopOnSignal(logger, async () => {
        abort.abort();
        try {
          await worker?.close();
        } finally {
          await tracing.shutdown();
        }
      });
      worker = await runWorker(config, logger, { signal: abort.signal });
    } catch (error) {
      failStartup(error);
    }
  });

// The long-running roles register only their own command: the client commands' modules would
// otherwise stay in every control plane's, runner's and worker's memory (client-commands.ts).
// A role's own subcommands (`par control-plane rotate-signing-key`, `par runner rotate-identity`)
// are client command lines: they get everything.
const SERVER_COMMANDS: ReadonlySet<string> = new Set(['start', 'dev', 'control-plane', 'runner', 'worker']);
const [, , command = '', next] = process.argv;
const runsARole = SERVER_COMMANDS.has(command) && (next === undefined || next.startsWith('-'));
if (!runsARole) {
  const { registerClientCommands } = await import('./client-commands.js');
  registerClientCommands(program, process.env);
}

await program.parseAsync(process.argv);
