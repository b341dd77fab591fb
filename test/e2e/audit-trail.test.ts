/**
 * The runner's audit trail through the real processes: an accepted task (through a connection), a
 * task refused by the allowlist and a forged one all appear in the runner's audit log with who
 * submitted them, the signing key id and their outcome; nothing of their inputs does. `par audit
 * tail` shows them, `/metrics` counts the chain, `par audit verify` passes, and after an edit of
 * the file it fails naming the edited entry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import type { Redis } from 'ioredis';
import { keySpace } from '../../src/control-plane/store/key-space.js';
import { loadOrCreateSigningKey } from '../../src/control-plane/store/signing-key.js';
import { enqueueSignedTask } from '../../src/control-plane/store/tasks.js';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner } from '../../src/crypto/task-signature.js';
import { readIdentity } from '../../src/lib/identity-file.js';
import { type RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { PAR_BIN } from '../helpers/processes.js';
import { connectRedis } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';
import { waitUntil } from '../helpers/wait.js';

type Entry = Record<string, unknown> & { seq: number; type: string; taskId?: string };

function par(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PAR_BIN, ...args],
      { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('the runner audit trail, end to end', () => {
  let system: System;
  let target: TargetServer;
  let redis: Redis;
  let identity: RunnerIdentity;
  let auditDir: string;
  const marker = `audit-secret-${randomBytes(8).toString('hex')}`;
  const ids: { accepted?: string; notAllowed?: string; forged?: string; connectionId?: string } = {};
  const cliEnv = (): Record<string, string> => ({ DD_PRIVATE_RUNNER_CONFIG_DIR: system.configDir });

  before(async () => {
    target = await startTargetServer();
    system = await startSystem({ workers: 1, runnerEnv: { PAR_AUDIT_CHECKPOINT_EVERY: '3' } });
    redis = connectRedis();
    identity = (await readIdentity(system.configDir))!;
    auditDir = join(system.configDir, 'audit');

    ids.connectionId = await system.createConnection({ integration: 'http' });
    const accepted = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.http.request',
      connectionId: ids.connectionId,
      inputs: { verb: 'GET', url: `${target.url}/health?token=${marker}` },
    });
    const notAllowed = await system.api.submitTask({
      runner: system.runnerName,
      action: 'com.datadoghq.script.runPredefinedScript',
      inputs: { scriptName: marker },
    });
    const forger = await generateSigningKeyPair();
    const key = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));
    const forged = new TaskSigner(await importSigningKey(forger.privateJwk), key.kid);
    ids.forged = randomUUID();
    const jws = await forged.sign(
      {
        sub: ids.forged,
        aud: identity.runnerId,
        org: identity.orgId,
        action: 'com.datadoghq.http.request',
        inputs: { verb: 'GET', url: `${target.url}/?${marker}` },
        timeoutMs: 5_000,
      },
      60_000,
    );
    await enqueueSignedTask(redis, system.cpPrefix, {
      taskId: ids.forged,
      runnerId: identity.runnerId,
      orgId: identity.orgId,
      action: 'com.datadoghq.http.request',
      signedTask: jws,
    });
    ids.accepted = accepted.id;
    ids.notAllowed = notAllowed.id;
    for (const id of [ids.accepted, ids.notAllowed, ids.forged]) await system.api.waitForTask(id, 30_000);
  });

  after(async () => {
    redis.disconnect();
    await system.stop();
    await target.close();
  });

  async function entries(): Promise<Entry[]> {
    const out: Entry[] = [];
    for (const name of (await readdir(auditDir)).filter((n) => n.endsWith('.jsonl')).sort()) {
      const lines = (await readFile(join(auditDir, name), 'utf8')).split('\n');
      lines.pop();
      out.push(...lines.map((l) => JSON.parse(l) as Entry));
    }
    return out;
  }

  test('accepted and refused tasks appear with their verdict, submitter, key id and outcome; no input does', async () => {
    const all = await waitUntil(
      async () => {
        const list = await entries();
        const outcomes = list.filter((e) => e.type === 'outcome').map((e) => e.taskId);
        return [ids.accepted, ids.notAllowed, ids.forged].every((id) => outcomes.includes(id)) ? list : undefined;
      },
      30_000,
      'an outcome entry for each task',
    );
    const verdictOf = (id: string | undefined): Entry => all.find((e) => e.type === 'verdict' && e.taskId === id)!;
    const outcomeOf = (id: string | undefined): Entry => all.find((e) => e.type === 'outcome' && e.taskId === id)!;

    const accepted = verdictOf(ids.accepted);
    assert.equal(accepted['verdict'], 'accepted');
    assert.equal(accepted['action'], 'com.datadoghq.http.request');
    assert.equal(accepted['connectionId'], ids.connectionId);
    assert.match(String(accepted['submittedBy']), /^(user|service_account):\S+$/);
    const cpKey = await loadOrCreateSigningKey(redis, keySpace(system.cpPrefix));
    assert.equal(accepted['keyId'], cpKey.kid);
    assert.equal(accepted['claimsVerified'], true);
    assert.ok(Number(accepted['verdictAt']) >= Number(accepted['receivedAt']));
    assert.deepEqual([outcomeOf(ids.accepted)['outcome'], outcomeOf(ids.accepted)['published']], ['succeeded', 'recorded']);
    assert.ok(Number(outcomeOf(ids.accepted)['publishedAt']) >= Number(accepted['verdictAt']));

    const notAllowed = verdictOf(ids.notAllowed);
    assert.deepEqual(
      [notAllowed['verdict'], notAllowed['code'], notAllowed['claimsVerified']],
      ['refused', 'PAR_ERR_ACTION_NOT_ALLOWLISTED', true],
    );
    assert.equal(notAllowed['submittedBy'], accepted['submittedBy']);
    assert.deepEqual(
      [outcomeOf(ids.notAllowed)['outcome'], outcomeOf(ids.notAllowed)['code']],
      ['rejected', 'PAR_ERR_ACTION_NOT_ALLOWLISTED'],
    );

    const forged = verdictOf(ids.forged);
    assert.deepEqual([forged['verdict'], forged['code'], forged['claimsVerified']], ['refused', 'PAR_ERR_TASK_SIGNATURE_INVALID', false]);

    for (const name of await readdir(auditDir)) {
      const text = await readFile(join(auditDir, name), 'utf8');
      assert.ok(!text.includes(marker), `${name} must not hold task inputs`);
      assert.ok(!text.includes(target.url), `${name} must not hold task inputs`);
    }
    assert.ok(
      all.some((e) => e.type === 'checkpoint'),
      'a checkpoint after 3 entries',
    );
  });

  test('par audit tail shows the entries; /metrics counts the chain; par audit verify passes', async () => {
    const tail = await par(['audit', 'tail', '-n', '100', '--json'], cliEnv());
    assert.equal(tail.code, 0, tail.stderr);
    const shown = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    assert.ok(shown.some((e) => e.type === 'verdict' && e.taskId === ids.notAllowed));
    const text = await par(['audit', 'tail', '-n', '5'], cliEnv());
    assert.equal(text.stdout.trim().split('\n').length, 5);

    const metrics = await request(`${system.runnerAdminUrl}/metrics`);
    const body = await metrics.body.text();
    const length = Number(/^par_audit_chain_length (\d+)$/m.exec(body)?.[1]);
    assert.ok(length >= (await entries()).length - 1 && length > 6, body);

    const verify = await par(['audit', 'verify'], cliEnv());
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^OK: \d+ entries/);
  });

  test('after the runner stops (final checkpoint), an edited entry makes verify fail naming it', async () => {
    await system.runner.stop('SIGTERM', 15_000);
    const ok = await par(['audit', 'verify', '--json'], cliEnv());
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal((JSON.parse(ok.stdout) as { unsignedTail: number }).unsignedTail, 0, 'the runner signed the head on close');

    const file = join(auditDir, 'audit-000001.jsonl');
    const lines = (await readFile(file, 'utf8')).split('\n');
    const index = lines.findIndex((l) => l.includes(`"taskId":"${ids.notAllowed}"`) && l.includes('"type":"verdict"'));
    lines[index] = lines[index]!.replace('"verdict":"refused"', '"verdict":"accepted"');
    await writeFile(file, lines.join('\n'));
    const bad = await par(['audit', 'verify'], cliEnv());
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`FAILED at audit-000001\\.jsonl line ${index + 1} seq ${index}: content does not match its hash`));
  });
});
