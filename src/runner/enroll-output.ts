/**
 * `par runner --with-api-key --enroll -f k8s|compose|env` (the seed's
 * `--enroll -f helm-values > values.yaml` flow): enroll a new runner and print its config instead
 * of writing config.yaml, in a form a deployment can start from without enrolling again.
 *
 * Every format carries the whole identity (urn, runner id, private key, pinned control-plane
 * keys, allowlist) as PAR_RUNNER_IDENTITY (base64 of the config.yaml text): in a compose service,
 * an env file, or (k8s) the Secret of a Kustomize overlay on deploy/kubernetes, written to a
 * directory (k8s-overlay.ts). The output is the only thing on stdout; logs go to stderr.
 * `-f helm-values` is refused: there is no Helm chart in this repository (src/cli/main.ts).
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ParError } from '../errors/par-error.js';
import { formatKubernetesOverlay } from './k8s-overlay.js';
import type { RunnerConfig } from '../config/runner.js';
import type { Logger } from '../logging/logger.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { enrollRunner } from './enroll-runner.js';
import { encodeIdentity } from '../lib/identity-file.js';
import { type RunnerIdentity } from '../contracts/runner-identity.js';

export type EnrollOutputFormat = 'k8s' | 'compose' | 'env';
export type PrintedEnrollFormat = Exclude<EnrollOutputFormat, 'k8s'>;

const CONTAINER_CONFIG_DIR = '/etc/dd-action-runner/config';
/** docker-compose and Helm read YAML 1.1 (a bare `yes` is a boolean there): emit 1.1 so such strings get quoted. */
const YAML_1_1 = { version: '1.1' } as const;
const DEFAULT_IMAGE = 'private-action-runner:local';

export interface EnrollOutputSettings {
  /** Image named in the compose and k8s output. */
  image?: string;
  /** k8s: the overlay directory to create (default deploy/overlays/<runner name>, from the working directory). */
  outputDir?: string;
  /** k8s: the Kustomize base (default this package's deploy/kubernetes). */
  k8sBase?: string;
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

export function formatEnrolledConfig(identity: RunnerIdentity, format: PrintedEnrollFormat, settings: EnrollOutputSettings = {}): string {
  const image = settings.image ?? DEFAULT_IMAGE;
  const header = `# Runner ${identity.runnerName} (${identity.runnerId}), enrolled ${identity.enrolledAt}. Contains the runner's private key: keep it secret.\n`;
  switch (format) {
    case 'env':
      return `${header}${Object.entries(runnerEnv(identity))
        .map(([k, v]) => envLine(k, v))
        .join('\n')}\n`;
    case 'compose':
      return `${header}${stringify(
        {
          services: {
            'private-runner': {
              image,
              command: ['runner'],
              environment: { ...runnerEnv(identity), REDIS_URL: 'redis://redis:6379' },
            },
          },
        },
        YAML_1_1,
      )}`;
  }
}

/** deploy/kubernetes of this package: found upwards from this module (src/runner or dist/src/runner). */
async function packageK8sBase(): Promise<string | undefined> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'deploy', 'kubernetes');
    if (
      await stat(join(candidate, 'kustomization.yaml')).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

export interface KubernetesOverlayTarget {
  outputDir: string;
  base: string;
}

/** Where the k8s overlay goes; checked BEFORE enrolling, so a bad target enrolls no runner. */
export async function kubernetesOverlayTarget(
  runnerName: string | undefined,
  settings: EnrollOutputSettings,
): Promise<KubernetesOverlayTarget> {
  if (!settings.outputDir && !runnerName)
    throw new ParError(
      'PAR_ERR_CONFIG_INVALID',
      '-f k8s: give --output-dir or a RUNNER_NAME (the default overlay is deploy/overlays/<runner name>)',
    );
  const outputDir = resolve(settings.outputDir ?? join('deploy', 'overlays', runnerName ?? ''));
  const base = settings.k8sBase ? resolve(settings.k8sBase) : await packageK8sBase();
  if (
    !base ||
    !(await stat(join(base, 'kustomization.yaml')).then(
      () => true,
      () => false,
    ))
  ) {
    throw new ParError(
      'PAR_ERR_CONFIG_INVALID',
      `-f k8s: no Kustomize base at ${base ?? 'deploy/kubernetes beside this installation'}; pass --k8s-base <path of deploy/kubernetes>`,
    );
  }
  if (
    await stat(join(outputDir, 'kustomization.yaml')).then(
      () => true,
      () => false,
    )
  ) {
    throw new ParError(
      'PAR_ERR_CONFIG_INVALID',
      `-f k8s: ${outputDir} already holds an overlay (kustomization.yaml); choose another --output-dir`,
    );
  }
  return { outputDir, base };
}

/** Writes the k8s overlay (never over an existing file) and returns what to print. */
export async function writeKubernetesOverlay(
  identity: RunnerIdentity,
  target: KubernetesOverlayTarget,
  settings: EnrollOutputSettings & { knownActions: Iterable<string> },
): Promise<string> {
  const { outputDir, base } = target;
  const basePath = relative(outputDir, base).split(sep).join('/') || '.';
  const files = formatKubernetesOverlay(identity, {
    basePath,
    image: settings.image ?? DEFAULT_IMAGE,
    knownActions: settings.knownActions,
  });
  await mkdir(outputDir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(outputDir, name), text, { mode: name === 'runner-identity.yaml' ? 0o600 : 0o644, flag: 'wx' });
  }
  return [
    `# Runner ${identity.runnerName} (${identity.runnerId}): Kustomize overlay written to ${outputDir}`,
    ...Object.keys(files)
      .sort()
      .map((f) => `${join(outputDir, f)}${f === 'runner-identity.yaml' ? '   (the private key: keep it secret)' : ''}`),
    `# kubectl apply -k ${outputDir}`,
    '',
  ].join('\n');
}

/** Every action FQN a worker registers, for the RBAC of -f k8s (the Kubernetes bundles are built, not run). */
async function knownKubernetesActions(): Promise<string[]> {
  const { createKubernetesBundles } = await import('../actions/kubernetes/bundle.js');
  const bundles = createKubernetesBundles();
  try {
    return bundles.flatMap((b) => b.actions.map((a) => a.fqn));
  } finally {
    await Promise.allSettled(bundles.map((b) => b.close()));
  }
}

/** Enrolls (never reusing an identity on disk, never writing one) and returns the printed config. */
export async function enrollAndFormat(
  config: RunnerConfig,
  format: EnrollOutputFormat,
  logger: Logger,
  settings: EnrollOutputSettings = {},
): Promise<string> {
  const target = format === 'k8s' ? await kubernetesOverlayTarget(config.runnerName, settings) : undefined;
  const client = new ControlPlaneClient({ baseUrl: config.controlPlaneUrl });
  try {
    const { identity } = await enrollRunner({ ...config, printFormat: format }, client, logger.child({ component: 'enrollment' }));
    logger.info({ runnerId: identity.runnerId, format }, 'runner enrolled; config printed to stdout (no config.yaml written)');
    if (target) return await writeKubernetesOverlay(identity, target, { ...settings, knownActions: await knownKubernetesActions() });
    return formatEnrolledConfig(identity, format as PrintedEnrollFormat, settings);
  } finally {
    await client.close();
  }
}
