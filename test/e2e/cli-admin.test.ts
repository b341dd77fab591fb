/**
 * End to end: the real control plane process and the real `par` CLI. Tables for people, `--json`
 * for scripts; keys created and revoked; connections created and removed; runners granted and
 * deleted, all with the app key from DD_APP_KEY and the URL from DD_BASE_URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import {
  ADMIN_API,
  appKeysResponseSchema,
  connectionViewSchema,
  connectionsResponseSchema,
  createAppKeyResponseSchema,
  grantsResponseSchema,
  runnersResponseSchema,
  tasksResponseSchema,
  userViewSchema,
} from '../../src/contracts/admin-api.js';
import { RUNNER_API, enrollResponseSchema } from '../../src/contracts/runner-api.js';
import { TASKS_API, taskViewSchema } from '../../src/contracts/tasks-api.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { freePort } from '../../src/cli/local-redis.js';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { PAR_BIN, startPar, type ParProcess } from '../helpers/processes.js';
import { waitForHttpOk } from '../helpers/system.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('par admin commands against a real control plane', () => {
  const base = uniquePrefix('e2e-cli-admin');
  const apiKey = randomBytes(16).toString('hex');
  const appKey = randomBytes(20).toString('hex');
  let cp: ParProcess | undefined;
  let cpUrl = '';

  const par = (args: string[], key = appKey): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [PAR_BIN, ...args],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: process.env['HOME'] ?? '',
            DD_BASE_URL: cpUrl,
            DD_APP_KEY: key,
            PAR_LOG_LEVEL: 'silent',
          },
          timeout: 30_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  const ok = async (args: string[], key?: string): Promise<string> => {
    const res = await par(args, key);
    assert.equal(res.code, 0, `par ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  };

  const api = async (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> => {
    const res = await request(`${cpUrl}${path}`, {
      method,
      headers: { 'dd-application-key': appKey, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json: unknown = await res.body.json();
    assert.ok(res.statusCode < 300, `${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  const enroll = async (name: string): Promise<string> => {
    const keyPair = await generateSigningKeyPair();
    const body = await api(
      'POST',
      RUNNER_API.enroll,
      { name, publicKey: keyPair.publicJwk, allowlist: ['com.datadoghq.http.request'], version: '9.9.9' },
      { 'dd-api-key': apiKey },
    );
    return enrollResponseSchema.parse(body).runnerId;
  };

  before(async () => {
    const port = await freePort();
    cpUrl = `http://127.0.0.1:${port}`;
    cp = startPar('control-plane', ['control-plane'], {
      PAR_CP_HOST: '127.0.0.1',
      PAR_CP_PORT: String(port),
      PAR_CP_REDIS_URL: TEST_REDIS_URL,
      PAR_CP_KEY_PREFIX: `${base}:cp`,
      PAR_ADMIN_API_KEY: apiKey,
      PAR_ADMIN_APP_KEY: appKey,
    });
    await waitForHttpOk(`${cpUrl}/healthz`, 20_000, cp);
  });

  after(async () => {
    await cp?.stop('SIGTERM', 5_000);
    const redis = connectRedis();
    try {
      await deleteKeys(redis, base);
    } finally {
      redis.disconnect();
    }
  });

  it('runners ls prints a table and --json parses; show names the grants', async () => {
    const runnerId = await enroll('cli-alpha');
    const table = await ok(['runners', 'ls']);
    const [header, ...rows] = table.trimEnd().split('\n');
    assert.match(header ?? '', /^NAME\s+ID\s+ACCESS\s+STATUS\s+VERSION\s+CONNECTIONS\s+LAST SEEN$/);
    const row = rows.find((r) => r.startsWith('cli-alpha'));
    assert.ok(row, table);
    assert.match(row, new RegExp(`cli-alpha\\s+${runnerId}\\s+editor\\s+\\S+\\s+9\\.9\\.9\\s+0`));

    const json = runnersResponseSchema.parse(JSON.parse(await ok(['runners', 'ls', '--json'])));
    assert.equal(json.runners.find((r) => r.id === runnerId)?.access, 'editor');

    const shown = await ok(['runners', 'show', 'cli-alpha']);
    assert.match(shown, /your access:\s+editor/);
    assert.match(shown, /Grants:\nPRINCIPAL\s+ID\s+ROLE\nuser\s+\S+\s+editor/);
  });

  it('keys create prints the key once; it works; keys revoke stops it on the next call', async () => {
    const created = createAppKeyResponseSchema.parse(
      JSON.parse(await ok(['keys', 'create', 'ci-reader', '--scopes', 'on_prem_runner_read', '--json'])),
    );
    assert.deepEqual(created.scopes, ['on_prem_runner_read']);
    await ok(['runners', 'ls'], created.key);

    const listed = await ok(['keys', 'ls']);
    assert.match(listed, new RegExp(`ci-reader\\s+${created.id}\\s+user:\\S+\\s+on_prem_runner_read`));
    assert.ok(!listed.includes(created.key), 'the key itself is never listed');
    assert.ok(appKeysResponseSchema.parse(JSON.parse(await ok(['keys', 'ls', '--json']))).appKeys.some((k) => k.id === created.id));

    assert.match(await ok(['keys', 'revoke', created.id]), new RegExp(`revoked application key ${created.id}`));
    const refused = await par(['runners', 'ls'], created.key);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /PAR_ERR_AUTH_APP_KEY_REVOKED/);

    const text = await ok(['keys', 'create', 'enroller', '--api']);
    assert.match(text, /API key enroller \(\w+\), shown once:\n[0-9a-f]{32}\n/);
  });

  it('connections create, ls, rm; a secret in settings is refused with its code', async () => {
    const runnerId = await enroll('cli-beta');
    const created = connectionViewSchema.parse(
      JSON.parse(
        await ok([
          'connections',
          'create',
          '--runner',
          'cli-beta',
          '--name',
          'items-api',
          '--integration',
          'http',
          '--credential-path',
          'credentials/items.json',
          '--settings',
          JSON.stringify({ baseUrl: 'https://items.example.test', headers: { Authorization: 'Bearer {{ token }}' } }),
          '--json',
        ]),
      ),
    );
    assert.equal(created.runnerId, runnerId);

    const table = await ok(['connections', 'ls', '--runner', runnerId]);
    assert.match(
      table,
      new RegExp(
        `^NAME\\s+ID\\s+RUNNER\\s+INTEGRATION\\s+CREDENTIAL PATH\\s+UPDATED\\nitems-api\\s+${created.id}\\s+${runnerId}\\s+http\\s+credentials/items.json`,
      ),
    );
    assert.equal(
      connectionsResponseSchema.parse(JSON.parse(await ok(['connections', 'ls', '--json']))).connections.filter((c) => c.id === created.id)
        .length,
      1,
    );

    const secret = await par([
      'connections',
      'create',
      '--runner',
      runnerId,
      '--name',
      'leaky',
      '--integration',
      'http',
      '--settings',
      '{"password":"hunter2"}',
    ]);
    assert.equal(secret.code, 1);
    assert.match(secret.stderr, /PAR_ERR_SECRET_REFUSED.*settings\.password/);
    assert.doesNotMatch(secret.stderr, /hunter2/);

    const inUse = await par(['runners', 'rm', runnerId]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /PAR_ERR_RUNNER_IN_USE.*items-api/);

    assert.match(await ok(['connections', 'rm', created.id]), /deleted connection/);
    assert.deepEqual(
      connectionsResponseSchema.parse(JSON.parse(await ok(['connections', 'ls', '--runner', runnerId, '--json']))).connections,
      [],
    );
  });

  it('runners grant gives a user access they did not have; runners rm deletes (editor only)', async () => {
    const runnerId = await enroll('cli-gamma');
    const user = userViewSchema.parse(await api('POST', ADMIN_API.users, { name: 'dana', email: 'dana@example.test' }));
    const userKey = createAppKeyResponseSchema.parse(
      await api('POST', ADMIN_API.appKeys, {
        name: 'dana',
        scopes: ['on_prem_runner_read', 'on_prem_runner_write'],
        owner: { type: 'user', id: user.id },
      }),
    ).key;
    assert.ok(
      !runnersResponseSchema.parse(JSON.parse(await ok(['runners', 'ls', '--json'], userKey))).runners.some((r) => r.id === runnerId),
      'hidden before the grant',
    );

    const granted = await ok(['runners', 'grant', 'cli-gamma', `user:${user.id}`, 'viewer']);
    assert.match(granted, new RegExp(`user\\s+${user.id}\\s+viewer`));
    const seen = runnersResponseSchema
      .parse(JSON.parse(await ok(['runners', 'ls', '--json'], userKey)))
      .runners.find((r) => r.id === runnerId);
    assert.equal(seen?.access, 'viewer');

    const denied = await par(['runners', 'rm', runnerId], userKey);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /PAR_ERR_AUTH_FORBIDDEN.*editor access/);

    const grants = grantsResponseSchema.parse(JSON.parse(await ok(['runners', 'grant', runnerId, `user:${user.id}`, 'editor', '--json'])));
    assert.ok(grants.grants.some((g) => g.principal.id === user.id && g.role === 'editor'));
    assert.match(await ok(['runners', 'rm', runnerId], userKey), /deleted runner cli-gamma/);
    const after = await par(['runners', 'show', runnerId]);
    assert.match(after.stderr, /PAR_ERR_NOT_FOUND/);
  });

  it('tasks ls and show list a runner task with its history', async () => {
    const runnerId = await enroll('cli-delta');
    const task = taskViewSchema.parse(
      await api('POST', TASKS_API.submit, {
        runner: runnerId,
        action: 'com.datadoghq.http.request',
        inputs: { url: 'http://127.0.0.1:9/' },
      }),
    );
    const table = await ok(['tasks', 'ls', '--runner', 'cli-delta']);
    assert.match(
      table,
      new RegExp(
        `^ID\\s+RUNNER\\s+ACTION\\s+STATE\\s+ATTEMPTS\\s+CREATED\\s+ERROR\\n${task.id}\\s+${runnerId}\\s+com\\.datadoghq\\.http\\.request\\s+queued\\s+0`,
      ),
    );
    assert.deepEqual(
      tasksResponseSchema.parse(JSON.parse(await ok(['tasks', 'ls', '--runner', runnerId, '--json']))).tasks.map((t) => t.id),
      [task.id],
    );
    const shown = await ok(['tasks', 'show', task.id]);
    assert.match(shown, /state:\s+queued/);
    assert.match(shown, /History:\nAT\s+EVENT\s+ATTEMPT\n\S+\s+submitted/);
    const json = JSON.parse(await ok(['tasks', 'show', task.id, '--json'])) as { task: { id: string }; events: { type: string }[] };
    assert.equal(json.task.id, task.id);
    assert.equal(json.events[0]?.type, 'submitted');
  });
});
