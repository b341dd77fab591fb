// What the intake and the result publisher write to the audit log: identifiers, codes and times
// from the signed task, never its inputs, credential path or settings; unverified claims marked
// and cut short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKeyPair, importSigningKey } from '../../src/crypto/keys.js';
import { TaskSigner } from '../../src/crypto/task-signature.js';
import { ParError } from '../../src/errors/par-error.js';
import { verdictRecord } from '../../src/runner/audit/task-audit.js';
import { canonicalJson } from '../../src/runner/audit/canonical.js';

const key = await generateSigningKeyPair();
const signer = new TaskSigner(await importSigningKey(key.privateJwk), key.kid);
const times = { receivedAt: 10, verdictAt: 12 };

async function delivery(
  extra: Record<string, unknown> = {},
): Promise<{ taskId: string; attempt: number; leaseToken: string; leaseExpiresAt: number; signedTask: string }> {
  const signedTask = await signer.sign(
    {
      sub: 't-1',
      aud: 'runner-1',
      org: 'org-1',
      action: 'com.datadoghq.http.request',
      timeoutMs: 1000,
      inputs: { url: 'https://example.test/?token=SECRET-INPUT', body: 'SECRET-BODY' },
      connection: {
        id: 'conn-1',
        integration: 'http',
        credentialPath: 'credentials/SECRET-PATH.json',
        settings: { baseUrl: 'https://SECRET-SETTING.test' },
      },
      submittedBy: 'user:u-1',
      ...extra,
    },
    60_000,
  );
  return { taskId: 't-1', attempt: 2, leaseToken: 'lease-SECRET', leaseExpiresAt: 0, signedTask };
}

test('an accepted verdict carries ids, submitter, key id and times, and nothing of the inputs or connection settings', async () => {
  const record = verdictRecord(await delivery(), undefined, times);
  assert.deepEqual(record, {
    type: 'verdict',
    taskId: 't-1',
    attempt: 2,
    verdict: 'accepted',
    claimsVerified: true,
    action: 'com.datadoghq.http.request',
    orgId: 'org-1',
    connectionId: 'conn-1',
    submittedBy: 'user:u-1',
    keyId: key.kid,
    receivedAt: 10,
    verdictAt: 12,
  });
  assert.doesNotMatch(canonicalJson(record as never), /SECRET/);
});

test('a refusal after the signature verified keeps claimsVerified; a bad signature marks the claims unverified', async () => {
  const d = await delivery();
  assert.equal(verdictRecord(d, new ParError('PAR_ERR_ACTION_NOT_ALLOWLISTED'), times).claimsVerified, true);
  const forged = verdictRecord(d, new ParError('PAR_ERR_TASK_SIGNATURE_INVALID'), times);
  assert.deepEqual([forged.verdict, forged.code, forged.claimsVerified], ['refused', 'PAR_ERR_TASK_SIGNATURE_INVALID', false]);
});

test('hostile unverified claims: long values are cut to 200 characters, non-strings and garbage tokens are left out', async () => {
  const long = await delivery({ action: `com.evil.${'a'.repeat(5000)}` });
  // The signer checks nothing; the runner would refuse this token, and records what it claimed, cut.
  const record = verdictRecord(long, new ParError('PAR_ERR_TASK_MALFORMED'), times);
  assert.equal(record.action?.length, 200);
  const odd = verdictRecord({ ...long, signedTask: 'not.a.jws' }, new ParError('PAR_ERR_TASK_MALFORMED'), times);
  assert.deepEqual(Object.keys(odd).sort(), ['attempt', 'claimsVerified', 'code', 'receivedAt', 'taskId', 'type', 'verdict', 'verdictAt']);
  const typed = verdictRecord(await delivery({ submittedBy: 42, connection: 'x' }), new ParError('PAR_ERR_TASK_MALFORMED'), times);
  assert.equal(typed.submittedBy, undefined);
  assert.equal(typed.connectionId, undefined);
});
