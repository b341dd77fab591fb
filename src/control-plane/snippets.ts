/**
 * Ready-to-paste install snippets for a runner created from the page or API, shaped like the
 * seed's `docker run`, compose and Helm examples (same env names, same config dir and volume),
 * with the one-time enrollment token in place of DD_API_KEY / DD_APP_KEY.
 *
 * The runner needs a Redis and worker processes beside it; the compose snippet brings both, the
 * others say so in a comment. Pure functions: no I/O, so the page and the tests see the same text.
 */
import { stringify } from 'yaml';

/**
 * docker-compose and Helm read YAML 1.1, where a bare `yes` is a boolean: emitting 1.1 quotes such
 * strings (`--appendonly yes` as an argv element).
 */
const YAML_1_1 = { version: '1.1' } as const;

/** Where the seed's runner image keeps its config (and our Dockerfile follows). */
export const CONTAINER_CONFIG_DIR = '/etc/dd-action-runner/config';

export interface SnippetInput {
  /** The control plane URL as the runner must reach it (PAR_CP_PUBLIC_URL, else the request's host). */
  controlPlaneUrl: string;
  token: string;
  runnerName: string;
  allowlist: readonly string[];
  modes: readonly string[];
  /** Container image, `private-action-runner:local` unless PAR_RUNNER_IMAGE says otherwise. */
  image: string;
}

export interface InstallSnippets {
  dockerRun: string;
  compose: string;
  helmValues: string;
  parRunner: string;
}

/** POSIX shell single quoting; plain words stay bare so the snippet reads like the seed's. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `registry:5000/name:tag` -> repository `registry:5000/name`, tag `tag` (default `latest`). */
export function splitImage(image: string): { repository: string; tag: string } {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: 'latest' };
}

function runnerEnv(input: SnippetInput, configDir: string, redisUrl: string): [string, string][] {
  return [
    ['DD_BASE_URL', input.controlPlaneUrl],
    ['DD_PRIVATE_RUNNER_CONFIG_DIR', configDir],
    ['PAR_ENROLLMENT_TOKEN', input.token],
    ['RUNNER_NAME', input.runnerName],
    ['RUNNER_MODES', input.modes.join(',')],
    ['ACTIONS_ALLOWLIST', input.allowlist.join(',')],
    ['REDIS_URL', redisUrl],
  ];
}

function dockerRun(input: SnippetInput): string {
  const env = runnerEnv(input, CONTAINER_CONFIG_DIR, 'redis://<your-redis-host>:6379');
  const lines = [
    '# The token enrolls this runner once; it then keeps its identity in ./config/config.yaml.',
    'docker run -d \\',
    ...env.map(([k, v]) => `  -e ${shellQuote(`${k}=${v}`)} \\`),
    `  -v ./config:${CONTAINER_CONFIG_DIR} \\`,
    `  ${shellQuote(input.image)} \\`,
    '  runner',
    '# Workers execute the tasks (scale out freely), on the same Redis and config dir:',
    `docker run -d -e REDIS_URL=redis://<your-redis-host>:6379 -e DD_PRIVATE_RUNNER_CONFIG_DIR=${CONTAINER_CONFIG_DIR} -v ./config:${CONTAINER_CONFIG_DIR}:ro ${shellQuote(input.image)} worker`,
  ];
  return `${lines.join('\n')}\n`;
}

function compose(input: SnippetInput): string {
  const doc = {
    services: {
      redis: {
        image: 'redis:7-alpine',
        command: ['redis-server', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
      },
      'private-runner': {
        image: input.image,
        command: ['runner'],
        environment: Object.fromEntries(runnerEnv(input, CONTAINER_CONFIG_DIR, 'redis://redis:6379')),
        volumes: [`./config:${CONTAINER_CONFIG_DIR}`],
        depends_on: ['redis'],
      },
      worker: {
        image: input.image,
        command: ['worker'],
        environment: { REDIS_URL: 'redis://redis:6379', DD_PRIVATE_RUNNER_CONFIG_DIR: CONTAINER_CONFIG_DIR },
        volumes: [`./config:${CONTAINER_CONFIG_DIR}:ro`],
        depends_on: ['redis', 'private-runner'],
        deploy: { replicas: 2 },
      },
    },
  };
  return `# docker-compose.yaml — start with: docker compose up -d\n${stringify(doc, YAML_1_1)}`;
}

function helmValues(input: SnippetInput): string {
  const doc = {
    image: splitImage(input.image),
    runner: {
      enrollmentToken: input.token,
      config: {
        ddBaseURL: input.controlPlaneUrl,
        modes: [...input.modes],
        actionsAllowlist: [...input.allowlist],
      },
      env: [
        { name: 'RUNNER_NAME', value: input.runnerName },
        { name: 'DD_PRIVATE_RUNNER_CONFIG_DIR', value: CONTAINER_CONFIG_DIR },
      ],
    },
  };
  return `# values.yaml — helm upgrade --install ${input.runnerName} <private-action-runner chart> -f values.yaml\n${stringify(doc, YAML_1_1)}`;
}

function parRunner(input: SnippetInput): string {
  const env = runnerEnv(input, './config', 'redis://127.0.0.1:6379').filter(([k]) => k !== 'PAR_ENROLLMENT_TOKEN');
  return [
    `${env.map(([k, v]) => shellQuote(`${k}=${v}`)).join(' \\\n')} \\`,
    `  par runner --enrollment-token ${shellQuote(input.token)}`,
    '# and one or more workers beside it:',
    'DD_PRIVATE_RUNNER_CONFIG_DIR=./config REDIS_URL=redis://127.0.0.1:6379 par worker',
    '',
  ].join('\n');
}

export function buildInstallSnippets(input: SnippetInput): InstallSnippets {
  return { dockerRun: dockerRun(input), compose: compose(input), helmValues: helmValues(input), parRunner: parRunner(input) };
}
