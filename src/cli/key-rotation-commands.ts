/**
 * Key rotation commands:
 *
 * - `par control-plane rotate-signing-key`: run where the control plane's settings are (same
 *   environment: PAR_CP_REDIS_URL, PAR_CP_KEY_PREFIX, PAR_TASK_TTL_MS ...). It rotates in the
 *   control plane's Redis directly: the signing key is platform-wide, so the operator who runs
 *   the control plane rotates it, not an org's app key. Every control-plane process on that Redis
 *   hears the rotation over pub/sub and signs with the new key from then on.
 * - `par runner rotate-identity`: asks the running runner (its loopback admin server,
 *   PAR_RUNNER_ADMIN_HOST/PORT) to rotate its identity key, authenticated with a token signed by
 *   the key in config.yaml; `--offline` rotates a stopped runner's config.yaml itself.
 */
import type { Command } from 'commander';
import { createRedisConnection } from '../lib/redis-connection.js';
import { request } from 'undici';
import { loadControlPlaneConfig, signingKeyRetireAfterMs } from '../config/control-plane.js';
import { loadRunnerConfig } from '../config/runner.js';
import { keySpace } from '../control-plane/store/key-space.js';
import { rotateSigningKey } from '../control-plane/store/signing-key.js';
import { importSigningKey } from '../crypto/keys.js';
import { RunnerTokenMinter } from '../crypto/runner-token.js';
import { ParError, fromErrorBody } from '../errors/par-error.js';
import { createRootLogger } from '../logging/logger.js';
import { ADMIN_ROTATE_IDENTITY_PATH, adminToken } from '../runner/admin-identity-route.js';
import { ControlPlaneClient } from '../runner/control-plane-client.js';
import { identityPath, readIdentity } from '../lib/identity-file.js';
import { rotateIdentity } from '../runner/identity-rotation.js';
import { IdentityStore } from '../runner/identity-store.js';
import { formatTime, print, printJson } from './cli-output.js';
import { failStartup } from './process-lifecycle.js';

export function registerKeyRotationCommands(program: Command): void {
  const controlPlane = program.commands.find((c) => c.name() === 'control-plane');
  const runner = program.commands.find((c) => c.name() === 'runner');
  if (!controlPlane || !runner) throw new Error('the control-plane and runner commands must be registered first');

  controlPlane
    .command('rotate-signing-key')
    .description('replace the task-signing key (the old one keeps verifying tasks until they expire, then is refused)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      try {
        const config = loadControlPlaneConfig(process.env);
        const redis = createRedisConnection(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
        redis.on('error', () => undefined);
        try {
          await redis.connect();
          const result = await rotateSigningKey(redis, keySpace(config.keyPrefix), { retireAfterMs: signingKeyRetireAfterMs(config) });
          if (opts.json) printJson(result);
          else
            print(
              `task-signing key rotated: ${result.kid} (was ${result.previousKid}; tasks signed with it are refused after ${formatTime(result.previousNotAfter)})`,
            );
        } finally {
          await redis.quit().catch(() => redis.disconnect());
        }
      } catch (error) {
        failStartup(error);
      }
    });

  runner
    .command('rotate-identity')
    .description("replace this runner's identity key without re-enrolling (asks the running runner; --offline for a stopped one)")
    .option('--offline', 'the runner is stopped: rotate config.yaml directly')
    .option('--json', 'print JSON')
    .action(async (opts: { offline?: boolean; json?: boolean }) => {
      try {
        const config = loadRunnerConfig(process.env);
        const identity = await readIdentity(config.configDir);
        if (!identity)
          throw new ParError(
            'PAR_ERR_ENROLL_IDENTITY_INVALID',
            `${identityPath(config.configDir)} does not exist: this config dir has no enrolled runner`,
          );
        let result: unknown;
        if (opts.offline) {
          const logger = createRootLogger({ process: 'runner', level: config.logLevel, file: config.logFile, stderr: true });
          const client = new ControlPlaneClient({ baseUrl: config.controlPlaneUrl });
          try {
            client.setTokenSource(new RunnerTokenMinter(identity.runnerId, await importSigningKey(identity.privateKey)));
            result = await rotateIdentity({ store: await IdentityStore.open(identity, config.configDir), client, logger });
          } finally {
            await client.close();
          }
        } else {
          const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
          const url = `http://${host}:${config.adminPort}${ADMIN_ROTATE_IDENTITY_PATH}`;
          const token = await adminToken(identity.runnerId, await importSigningKey(identity.privateKey));
          let res;
          try {
            res = await request(url, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}` },
              headersTimeout: 60_000,
              bodyTimeout: 60_000,
            });
          } catch (error) {
            throw new ParError(
              'PAR_ERR_INTERNAL',
              `the runner's admin server at ${url} does not answer (${(error as Error).message}); is the runner running? Use --offline for a stopped runner`,
              { retryable: false },
            );
          }
          const body = await res.body.json().catch(() => undefined);
          if (res.statusCode !== 200) throw fromErrorBody(body);
          result = body;
        }
        const r = result as { kid: string; previousKid: string; previousKeyUntil: number };
        if (opts.json) printJson(r);
        else
          print(
            `runner identity key rotated: ${r.kid} (was ${r.previousKid}; the control plane accepts the old key until ${formatTime(r.previousKeyUntil)})`,
          );
      } catch (error) {
        failStartup(error);
      }
    });
}
