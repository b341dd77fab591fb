/**
 * Cancellation end to end, real processes: control plane, runner, worker, the `par` CLI, a
 * loopback target server. A queued task never runs; a running script (its whole process group)
 * and a hanging HTTP request are stopped, and the task is recorded once, as `cancelled`,
 * whatever the run reports later; a finished task is refused (409); a read-only user is refused
 * (403). Both ways a cancel reaches the runner are proven on their own: a full runner (capacity 1,
 * not polling) learns it from a heartbeat, within a bound set by its heartbeat interval; a runner
 * with room learns it from its waiting dequeue, well before its (long) heartbeat interval.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { ADMIN_API, createAppKeyResponseSchema, userViewSchema } from '../../src/contracts/admin-api.js';
import { taskViewSchema, type TaskView } from '../../src/contracts/tasks-api.js';
import { PAR_BIN } from '../helpers/processes.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';

const HEARTBEAT_MS = 500;
/** How long a cancel may take to reach a running action: one heartbeat, plus room for a loaded 2-core machine. */
const CANCEL_BOUND_MS = 2 * HEARTBEAT_MS + 8_000;
/** The restarted runner's heartbeat: 60 s, cut to a third of the 30 s lease, so at most one tick per 10 s. */
const LONG_HEARTBEAT_MS = 60_000;
/** A cancel through the long poll does not wait for a heartbeat: well below the 10 s tick. */
const POLL_CANCEL_BOUND_MS = 5_000;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Live (not zombie) processes whose argv holds `arg`. */
async function liveProcessesWith(arg: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(arg) && stat !== '' && !/^\d+ \(.*\) Z /.test(stat)) n++;
  }
  return n;
}

describe('e2e: cancelling tasks', () => {
  let system: System;
  let target: TargetServer;
  /** Requests to /hang whose connection has closed (the client gave up). */
  const closedHangs = new Set<string>();

  const par = (args: string[], key = system.keys.appKey): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [PAR_BIN, ...args],
        {
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: process.env['HOME'] ?? '',
            DD_BASE_URL: system.cpUrl,
            DD_APP_KEY: key,
            PAR_LOG_LEVEL: 'silent',
          },
          timeout: 60_000,
        },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  const events = async (taskId: string): Promise<string[]> => (await system.api.getTaskEvents(taskId)).map((e) => e.type);
  const submit = (action: string, inputs: Record<string, unknown>): Promise<TaskView> =>
    system.api.submitTask({ runner: system.runnerName, action, inputs, timeoutMs: 120_000 });

  before(async () => {
    target = await startTargetServer();
    target.route('/hang', (req) => {
      const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
      req.socket.once('close', () => closedHangs.add(id));
      // Never answers: only a cancel (or the 120 s task timeout) ends the request.
    });
    system = await startSystem({
      allowlist: 'com.datadoghq.http.request,com.datadoghq.script.runPredefinedScript',
      workers: 1,
      // Full with one task: while it runs the runner does not poll, so only heartbeats carry cancels.
      runnerEnv: { PAR_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), PAR_RUNNER_CAPACITY: '1' },
    });
    await writeFile(
      join(system.configDir, 'script-config.yaml'),
      stringify({
        schemaId: 'script-credentials-v1',
        runPredefinedScript: {
          // A shell with a child in the background and one in the foreground: the whole group must go.
          sleepy: {
            command: ['/bin/sh', '-c', 'sleep "$1" & sleep "$1"; wait', 'sh', '{{ parameters.secs }}'],
            parameterSchema: { type: 'object', properties: { secs: { type: 'string', pattern: '^[0-9.]+$' } }, required: ['secs'] },
          },
        },
      }),
    );
  });
  after(async () => {
    await system.stop();
    await target.close();
  });

  test('a running script on a full runner is stopped through the heartbeat, its process group is gone, the task is recorded once as cancelled', async () => {
    const secs = `600.${randomInt(100_000, 999_999)}`;
    const task = await submit('com.datadoghq.script.runPredefinedScript', { scriptName: 'sleepy', parameters: { secs } });
    // The shell and both sleeps (plus bwrap when the worker boxes scripts) are running.
    await waitUntil(
      async () => ((await liveProcessesWith(secs)) >= 3 ? true : undefined),
      60_000,
      'the script and its children to run',
      100,
    );
    assert.equal((await system.api.getTask(task.id)).state, 'leased');

    const res = await par(['tasks', 'cancel', task.id]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `task ${task.id}: cancelled`);
    await waitUntil(
      async () => ((await liveProcessesWith(secs)) === 0 ? true : undefined),
      CANCEL_BOUND_MS + 5_000,
      "the script's processes to be gone",
      50,
    );
    // From the moment the control plane recorded the cancel (same host, same clock).
    const stoppedMs = Date.now() - ((await system.api.getTask(task.id)).finishedAt ?? 0);
    console.log(`script: processes gone ${stoppedMs} ms after the cancel was recorded (heartbeat ${HEARTBEAT_MS} ms)`);
    assert.ok(stoppedMs <= CANCEL_BOUND_MS, `stopped after ${stoppedMs} ms, bound ${CANCEL_BOUND_MS} ms`);
    assert.match(system.runner.output(), /"component":"lease-keeper"[^\n]*told the workers to stop them/);

    // The worker reports the run as cancelled; that confirms, it records nothing.
    await waitUntil(
      async () => ((await events(task.id)).includes('cancel.confirmed') ? true : undefined),
      30_000,
      "the run's cancelled result",
    );
    const history = await events(task.id);
    assert.deepEqual(
      history.filter((e) => e === 'cancelled' || e === 'result.recorded'),
      ['cancelled'],
      history.join(','),
    );
    const view = await system.api.getTask(task.id);
    assert.equal(view.state, 'cancelled');
    assert.equal(view.outcome?.error?.code, 'PAR_ERR_TASK_CANCELLED');
    assert.match(view.outcome.error.message, /by user:/);
  });

  test('a queued task (no runner polling) is cancelled at once and never runs', async () => {
    await system.runner.stop('SIGTERM');
    const queued = await submit('com.datadoghq.http.request', { verb: 'GET', url: `${target.url}/health?queued=1` });
    assert.equal(queued.state, 'queued');
    const res = await par(['tasks', 'cancel', queued.id, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const cancelled = taskViewSchema.parse((JSON.parse(res.stdout) as { task: unknown }).task);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(cancelled.outcome?.error?.code, 'PAR_ERR_TASK_CANCELLED');

    // The runner comes back and works through its queue: a later task runs, the cancelled one never does.
    // From here on: room for tasks, and a heartbeat at most every 10 s.
    await system.startRunner({ PAR_HEARTBEAT_INTERVAL_MS: String(LONG_HEARTBEAT_MS), PAR_RUNNER_CAPACITY: '10' });
    const later = await submit('com.datadoghq.http.request', { verb: 'GET', url: `${target.url}/health?later=1` });
    assert.equal((await system.api.waitForTask(later.id, 60_000)).state, 'succeeded');
    assert.equal(target.requests.filter((r) => r.url.includes('queued=1')).length, 0, 'the cancelled task reached the target');
    assert.equal((await system.api.getTask(queued.id)).state, 'cancelled');
    assert.deepEqual(await events(queued.id), ['submitted', 'cancelled']);

    // Listed as cancelled.
    const list = await par(['tasks', 'ls', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const row = (JSON.parse(list.stdout) as { tasks: TaskView[] }).tasks.find((t) => t.id === queued.id);
    assert.equal(row?.state, 'cancelled');
  });

  test("a hanging HTTP request is aborted through the runner's long poll; cancelling twice is idempotent", async () => {
    const id = randomBytes(4).toString('hex');
    const task = await submit('com.datadoghq.http.request', { verb: 'GET', url: `${target.url}/hang?id=${id}` });
    await waitUntil(
      () => (target.requests.some((r) => r.url.includes(`id=${id}`)) ? true : undefined),
      60_000,
      'the request to reach the target',
    );

    const first = await par(['tasks', 'cancel', task.id, '--json']);
    assert.equal(first.code, 0, first.stderr);
    await waitUntil(() => (closedHangs.has(id) ? true : undefined), 30_000, "the request's connection to close");
    const stoppedMs = Date.now() - ((await system.api.getTask(task.id)).finishedAt ?? 0);
    console.log(`http: connection closed ${stoppedMs} ms after the cancel was recorded (long poll; heartbeat every 10 s)`);
    assert.ok(stoppedMs <= POLL_CANCEL_BOUND_MS, `stopped after ${stoppedMs} ms, bound ${POLL_CANCEL_BOUND_MS} ms`);
    assert.match(system.runner.output(), /"component":"poll-loop"[^\n]*told the workers to stop them/);
    await waitUntil(
      async () => ((await events(task.id)).includes('cancel.confirmed') ? true : undefined),
      30_000,
      "the run's cancelled result",
    );

    const second = await par(['tasks', 'cancel', task.id, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), JSON.parse(first.stdout));
    const history = await events(task.id);
    assert.equal(history.filter((e) => e === 'cancelled').length, 1, history.join(','));
    assert.equal(history.includes('result.recorded'), false);
  });

  test('a finished task cannot be cancelled (409, unchanged); a read-only user is refused (403); unknown is 404', async () => {
    const done = await submit('com.datadoghq.http.request', { verb: 'GET', url: `${target.url}/health?done=1` });
    const finished = await system.api.waitForTask(done.id, 60_000);
    assert.equal(finished.state, 'succeeded');
    const refused = await par(['tasks', 'cancel', done.id]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /PAR_ERR_TASK_FINISHED/);
    assert.deepEqual(await system.api.getTask(done.id), finished);

    // A read-only user of the org with an actions_run key.
    const admin = async (path: string, body: unknown, method: 'POST' | 'PUT' = 'POST'): Promise<unknown> => {
      const res = await request(`${system.cpUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'dd-application-key': system.keys.appKey },
        body: JSON.stringify(body),
      });
      const json: unknown = await res.body.json();
      assert.equal(res.statusCode, method === 'POST' ? 201 : 200, JSON.stringify(json));
      return json;
    };
    const user = userViewSchema.parse(
      await admin(ADMIN_API.users, {
        name: `ro-${randomBytes(3).toString('hex')}`,
        email: `ro-${randomBytes(3).toString('hex')}@example.test`,
        roles: ['read_only'],
      }),
    );
    // Granted contributor on the runner, but the read_only role caps it at viewer.
    await admin(ADMIN_API.runnerGrants(system.runnerName), { principal: { type: 'user', id: user.id }, role: 'contributor' }, 'PUT');
    const key = createAppKeyResponseSchema.parse(
      await admin(ADMIN_API.appKeys, {
        name: 'ro-key',
        scopes: ['actions_run', 'on_prem_runner_read'],
        owner: { type: 'user', id: user.id },
      }),
    ).key;
    const queuedId = (await submit('com.datadoghq.http.request', { verb: 'GET', url: `${target.url}/hang?id=ro` })).id;
    const forbidden = await par(['tasks', 'cancel', queuedId], key);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /PAR_ERR_AUTH_FORBIDDEN/);
    assert.notEqual((await system.api.getTask(queuedId)).state, 'cancelled');
    assert.equal((await par(['tasks', 'cancel', queuedId])).code, 0, 'the admin may cancel it');

    const unknown = await par(['tasks', 'cancel', 'no-such-task']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /PAR_ERR_NOT_FOUND/);
  });
});
