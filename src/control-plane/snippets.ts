/**
 * Ready-to-paste install snippets for a runner created from the page or API, shaped like the
 * seed's `docker run` and compose examples (same env names, same config dir), with the one-time
 * enrollment token in place of DD_API_KEY / DD_APP_KEY. Kubernetes: the Kustomize base in
 * deploy/kubernetes, through `par runner --enroll -f k8s` (this repository has no Helm chart).
 *
 * The runner needs a Redis and worker processes beside it; the compose snippet brings both, the
 * others say so in a comment. Pure functions: no I/O, so the page and the tests see the same text.
 */
import { stringify } from 'yaml';

/**
 * docker-compose reads YAML 1.1, where a bare `yes` is a boolean: emitting 1.1 quotes such
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
  kubernetes: string;
  parRunner: string;
}

/** Named volume for the runner's config dir: Docker creates it owned by the image's user (a missing host dir would be root's). */
const CONFIG_VOLUME = 'par-runner-config';

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
    `# The token enrolls this runner once; it then keeps its identity in the ${CONFIG_VOLUME} volume.`,
    'docker run -d \\',
    ...env.map(([k, v]) => `  -e ${shellQuote(`${k}=${v}`)} \\`),
    `  -v ${CONFIG_VOLUME}:${CONTAINER_CONFIG_DIR} \\`,
    `  ${shellQuote(input.image)} \\`,
    '  runner',
    '# Workers execute the tasks (scale out freely), on the same Redis and config dir:',
    `docker run -d -e REDIS_URL=redis://<your-redis-host>:6379 -e DD_PRIVATE_RUNNER_CONFIG_DIR=${CONTAINER_CONFIG_DIR} -v ${CONFIG_VOLUME}:${CONTAINER_CONFIG_DIR}:ro ${shellQuote(input.image)} worker`,
  ];
  return `${lines.join('\n')}\n`;
}

function compose(input: SnippetInput): string {
  const doc = {
    services: {
      redis: {
        image: 'redis:7-alpine',
        command: ['redis-server', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
        volumes: ['redis-data:/data'],
        healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '5s', timeout: '3s', retries: 10 },
      },
      'private-runner': {
        image: input.image,
        command: ['runner'],
        environment: Object.fromEntries(runnerEnv(input, CONTAINER_CONFIG_DIR, 'redis://redis:6379')),
        volumes: [`${CONFIG_VOLUME}:${CONTAINER_CONFIG_DIR}`],
        depends_on: { redis: { condition: 'service_healthy' } },
        stop_grace_period: '35s',
        healthcheck: {
          test: ['CMD', 'node', '/app/bin/par.js', 'healthcheck', 'runner'],
          interval: '5s',
          timeout: '5s',
          retries: 3,
          start_period: '60s',
        },
      },
      worker: {
        image: input.image,
        command: ['worker'],
        environment: {
          REDIS_URL: 'redis://redis:6379',
          DD_PRIVATE_RUNNER_CONFIG_DIR: CONTAINER_CONFIG_DIR,
          PAR_WORKER_LIVENESS_FILE: '/tmp/par-worker.alive',
        },
        volumes: [`${CONFIG_VOLUME}:${CONTAINER_CONFIG_DIR}:ro`],
        depends_on: { redis: { condition: 'service_healthy' }, 'private-runner': { condition: 'service_healthy' } },
        deploy: { replicas: 2 },
        stop_grace_period: '40s',
        healthcheck: {
          test: ['CMD', 'node', '/app/bin/par.js', 'healthcheck', 'worker'],
          interval: '10s',
          timeout: '5s',
          retries: 3,
          start_period: '60s',
        },
      },
    },
    volumes: { 'redis-data': {}, [CONFIG_VOLUME]: {} },
  };
  return `# docker-compose.yaml — start with: docker compose up -d\n${stringify(doc, YAML_1_1)}`;
}

/**
 * Kubernetes: enroll once with the token from a checkout of this repository; `-f k8s` writes a
 * Kustomize overlay on deploy/kubernetes (the identity Secret, the workers' Role for the
 * allowlist), then kubectl applies it. The token is used up there, never stored in the cluster.
 */
function kubernetes(input: SnippetInput): string {
  const overlay = `deploy/overlays/${input.runnerName}`;
  const env = [
    ...runnerEnv(input, './config', 'redis://127.0.0.1:6379').filter(([k]) =>
      ['DD_BASE_URL', 'RUNNER_NAME', 'RUNNER_MODES', 'ACTIONS_ALLOWLIST'].includes(k),
    ),
    ['PAR_RUNNER_IMAGE', input.image],
  ];
  return [
    '# In a checkout of the private-action-runner repository (npm ci && npm run build):',
    `${env.map(([k, v]) => shellQuote(`${k}=${v}`)).join(' \\\n')} \\`,
    `  node bin/par.js runner --enrollment-token ${shellQuote(input.token)} --enroll -f k8s --output-dir ${shellQuote(overlay)}`,
    `# ${overlay}/runner-identity.yaml holds the runner's private key: keep it out of version control.`,
    `kubectl apply -k ${shellQuote(overlay)}`,
    '',
  ].join('\n');
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
  return { dockerRun: dockerRun(input), compose: compose(input), kubernetes: kubernetes(input), parRunner: parRunner(input) };
}
