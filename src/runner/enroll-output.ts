/**
 * `par runner --with-api-key --enroll -f helm-values|compose|env` (the seed's
 * `--enroll -f helm-values > values.yaml` flow): enroll a new runner and print its config instead
 * of writing config.yaml, in a form a deployment can start from without enrolling again.
 *
 * Every format carries the whole identity (urn, runner id, private key, pinned control-plane
 * keys, allowlist): as the `runner.config` map of Helm values, or as PAR_RUNNER_IDENTITY (base64
 * of the config.yaml text) in a compose service or an env file. The output is the only thing on
 * stdout; logs go to stderr.
 */
import { stringify } from 'yaml';
import type { RunnerConfig } from '../config/runner.js';
import type { Logger } from '../logging/logger.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { enrollRunner } from './enroll-runner.js';
import { encodeIdentity } from '../lib/identity-file.js';
import { type RunnerIdentity } from '../contracts/runner-identity.js';

export type EnrollOutputFormat = 'helm-values' | 'compose' | 'env';

const CONTAINER_CONFIG_DIR = '/etc/dd-action-runner/config';
/** docker-compose and Helm read YAML 1.1 (a bare `yes` is a boolean there): emit 1.1 so such strings get quoted. */
const YAML_1_1 = { version: '1.1' } as const;
const DEFAULT_IMAGE = 'private-action-runner:local';

export interface EnrollOutputSettings {
  /** Image named in the compose and Helm output. */
  image?: string;
}

function splitImage(image: string): { repository: string; tag: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? { repository: image.slice(0, colon), tag: image.slice(colon + 1) } : { repository: image, tag: 'latest' };
}

/** Env lines need no quoting as long as values hold no newline; the base64 identity never does. */
function envLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${key}: a value with a newline cannot go in an env file`);
  return `${key}=${value}`;
}

function runnerEnv(identity: RunnerIdentity): Record<string, string> {
  return {
    DD_BASE_URL: identity.ddBaseURL,
    DD_PRIVATE_RUNNER_CONFIG_DIR: CONTAINER_CONFIG_DIR,
    RUNNER_NAME: identity.runnerName,
    RUNNER_MODES: identity.modes.join(','),
    ACTIONS_ALLOWLIST: identity.actionsAllowlist.join(','),
    PAR_RUNNER_IDENTITY: encodeIdentity(identity),
  };
}

export function formatEnrolledConfig(identity: RunnerIdentity, format: EnrollOutputFormat, settings: EnrollOutputSettings = {}): string {
  const image = settings.image ?? DEFAULT_IMAGE;
  const header = `# Runner ${identity.runnerName} (${identity.runnerId}), enrolled ${identity.enrolledAt}. Contains the runner's private key: keep it secret.\n`;
  switch (format) {
    case 'env':
      return `${header}${Object.entries(runnerEnv(identity)).map(([k, v]) => envLine(k, v)).join('\n')}\n`;
    case 'compose':
      return `${header}${stringify({
        services: {
          'private-runner': {
            image,
            command: ['runner'],
            environment: { ...runnerEnv(identity), REDIS_URL: 'redis://redis:6379' },
          },
        },
      }, YAML_1_1)}`;
    case 'helm-values':
      return `${header}${stringify({
        image: splitImage(image),
        runner: {
          // The config.yaml content, as the runner would have written it at enrollment.
          config: identity,
          env: [
            { name: 'DD_PRIVATE_RUNNER_CONFIG_DIR', value: CONTAINER_CONFIG_DIR },
          ],
        },
      }, YAML_1_1)}`;
  }
}

/** Enrolls (never reusing an identity on disk, never writing one) and returns the printed config. */
export async function enrollAndFormat(config: RunnerConfig, format: EnrollOutputFormat, logger: Logger, settings: EnrollOutputSettings = {}): Promise<string> {
  const client = new ControlPlaneClient({ baseUrl: config.controlPlaneUrl });
  try {
    const { identity } = await enrollRunner({ ...config, printFormat: format }, client, logger.child({ component: 'enrollment' }));
    logger.info({ runnerId: identity.runnerId, format }, 'runner enrolled; config printed to stdout (no config.yaml written)');
    return formatEnrolledConfig(identity, format, settings);
  } finally {
    await client.close();
  }
}
