#!/usr/bin/env node
/**
 * `npm test` runs this first (plain node, no tsx): it checks what the suite needs beyond
 * node_modules and, when something is missing, stops with ONE sentence naming each missing thing
 * and the command that installs or starts it, before any test runs (exit 1).
 *
 * Needs: Node >= 20.19; Redis at PAR_TEST_REDIS_URL (default redis://127.0.0.1:6379); PostgreSQL
 * at 127.0.0.1:5432 (user postgres, trust auth, database `test`); Debian's chromium at
 * /usr/bin/chromium (web-page tests); on PATH: redis-server (private Redis the e2e tests kill),
 * redis-cli (the Redis Cluster e2e test creates its cluster with it),
 * docker-compose (compose files are checked with `docker-compose config`), openssl (test
 * certificates), bwrap (the script sandbox), bash and sh.
 *
 * Exit 0 prints nothing. Timeouts are short: a service that does not answer within 3 s is missing.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

const REDIS_URL = process.env['PAR_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const CHROMIUM = '/usr/bin/chromium';
const TIMEOUT_MS = 3_000;

/** [binary on PATH, Debian package]. */
const TOOLS = [
  ['redis-server', 'redis-server'],
  ['redis-cli', 'redis-tools'],
  ['docker-compose', 'docker-compose'],
  // renders deploy/kubernetes with its built-in kustomize (test/unit/kubernetes-deploy.test.ts)
  ['kubectl', 'kubectl'],
  ['openssl', 'openssl'],
  ['bwrap', 'bubblewrap'],
  ['bash', 'bash'],
  ['sh', 'dash'],
];

function onPath(name) {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function safeUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return url;
  }
}

async function checkRedis() {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch {
    return `Redis does not answer at ${safeUrl(REDIS_URL)} (start it with \`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\`, or set PAR_TEST_REDIS_URL)`;
  } finally {
    redis.disconnect();
  }
}

async function checkPostgres() {
  const client = new pg.Client({ ...PG, connectionTimeoutMillis: TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    const code = error && typeof error === 'object' && 'code' in error ? error.code : undefined;
    if (code === '3D000') return `PostgreSQL has no database \`test\` (run \`su postgres -c 'createdb test'\`)`;
    if (code === '28P01' || code === '28000')
      return `PostgreSQL at ${PG.host}:${PG.port} refuses user postgres without a password (give 127.0.0.1 \`trust\` auth in pg_hba.conf)`;
    return `PostgreSQL does not answer at ${PG.host}:${PG.port} (install it with \`apt-get install -y postgresql\` and start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\`; the tests use user postgres with trust auth and a database \`test\`)`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function missingPrerequisites() {
  const missing = [];
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) missing.push(`Node ${process.versions.node} is too old (Node >= 20.19 is needed)`);
  for (const [tool, pkg] of TOOLS) {
    if (!onPath(tool)) missing.push(`${tool} is missing (run \`apt-get install -y ${pkg}\`)`);
  }
  if (!executable(CHROMIUM)) missing.push(`chromium is missing at ${CHROMIUM} (run \`apt-get install -y chromium\`)`);
  const services = await Promise.all([checkRedis(), checkPostgres()]);
  for (const s of services) if (s) missing.push(s);
  return missing;
}

const missing = await missingPrerequisites();
if (missing.length > 0) {
  const list = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join('; ')}; and ${missing.at(-1)}`;
  process.stderr.write(`Cannot run the tests: ${list}.\n`);
  process.exit(1);
}
