/**
 * The tag on `tasks` jobs (src/crypto/task-job-tag.ts): it covers the exact bytes of the payload
 * the worker parses, so any change to any field (or any byte) breaks it and it survives BullMQ's
 * JSON round trip; the key derivation is a fixed function of the runner identity (a known-answer
 * vector, checked independently with Python's hmac/hashlib); rotation keeps the previous key
 * until its time and no longer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveQueueKey, tagPayload, taggedTaskJob, verifyTaskJob, type QueueKey } from '../../src/crypto/task-job-tag.js';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { ParError } from '../../src/errors/par-error.js';
import type { TaskJobPayload } from '../../src/contracts/jobs.js';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { rotatedIdentity, PREVIOUS_QUEUE_KEY_MIN_MS } from '../../src/runner/identity-rotation.js';
import { queueKeysOf } from '../../workers/identity-reload.js';

const VECTOR_D = Buffer.alloc(32, 7).toString('base64url');

function ring(...keys: QueueKey[]): Map<string, QueueKey> {
  return new Map(keys.map((k) => [k.kid, k]));
}

function assertRefused(fn: () => unknown, why: string, code = 'PAR_ERR_TASK_SIGNATURE_INVALID'): void {
  assert.throws(fn, (e: unknown) => e instanceof ParError && e.code === code, why);
}

const sample = (taskId = 't-1'): TaskJobPayload => ({
  taskId,
  task: {
    taskId,
    runnerId: 'rnr_1',
    orgId: 'org-1',
    action: 'com.datadoghq.http.request',
    inputs: { url: 'https://example.test/a', headers: [{ key: 'x', value: ['1', '2'] }], body: { n: 1.5, flag: false, nil: null } },
    connection: { id: 'c-1', integration: 'http', credentialPath: 'creds/a.json', settings: { baseUrl: 'https://example.test' } },
    timeoutMs: 5000,
    expiresAt: 1_800_000_000_000,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  },
  deliveryAttempt: 2,
  acceptedAt: 1_700_000_000_000,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01',
});

/** Every leaf path of a JSON value (arrays and objects walked). */
function leafPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object')
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      leafPaths(v, [...path, Array.isArray(value) ? Number(k) : k]),
    );
  return [path];
}

/** The payload with the leaf at `path` changed (or removed), as someone editing it in Redis would write it. */
function edited(payload: string, path: (string | number)[], change: (v: unknown) => unknown): string {
  const copy = JSON.parse(payload) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? '';
  const next = change(at[last]);
  if (next === undefined && !Array.isArray(at)) Reflect.deleteProperty(at, last);
  else at[last] = next;
  return JSON.stringify(copy);
}

describe('task job tag', () => {
  const key = deriveQueueKey({ runnerId: 'rnr_1', privateKey: { kty: 'OKP', crv: 'Ed25519', d: VECTOR_D } });

  it('key derivation: a known-answer vector, the same key for the same identity, another for another key or runner', async () => {
    const vector = deriveQueueKey({ runnerId: 'rnr_vector', privateKey: { kty: 'OKP', d: VECTOR_D } });
    assert.equal(vector.kid, 'V-3CD4JuETOu');
    assert.equal(vector.key.toString('hex'), '087f6c1bd6c4c514b0dd02ea1877281cc923dcc123e120abd218cb19fae63c1a');
    assert.equal(tagPayload(vector, '{"taskId":"t"}'), 'V-3CD4JuETOu.BDnFwm4nye6YT0dHO4V1FRS38Y599lpAT8x3wvqsACA');
    // Cached per identity: the same object back for an equal identity.
    assert.equal(deriveQueueKey({ runnerId: 'rnr_vector', privateKey: { d: VECTOR_D } }), vector);
    const other = await generateSigningKeyPair();
    assert.notEqual(deriveQueueKey({ runnerId: 'rnr_vector', privateKey: other.privateJwk }).kid, vector.kid);
    assert.notEqual(deriveQueueKey({ runnerId: 'rnr_other', privateKey: { d: VECTOR_D } }).kid, vector.kid);
    assert.throws(() => deriveQueueKey({ runnerId: 'r', privateKey: { kty: 'OKP' } }), /no private key/);
  });

  it('a tagged job verifies as queued and after the JSON round trip through Redis, giving back the payload', () => {
    const data = taggedTaskJob(key, sample());
    assert.match(data.tag, new RegExp(`^${key.kid}\\.[A-Za-z0-9_-]{43}$`));
    assert.equal(data.taskId, 't-1');
    assert.deepEqual(verifyTaskJob(ring(key), data), sample());
    assert.deepEqual(verifyTaskJob(ring(key), JSON.parse(JSON.stringify(data))), sample());
  });

  it('any change to any field of the payload breaks the tag (every leaf changed, every leaf removed, a field added)', () => {
    const data = taggedTaskJob(key, sample());
    const paths = leafPaths(JSON.parse(data.payload));
    assert.ok(paths.length >= 20, `${paths.length} leaves`);
    const changed = (v: unknown): unknown => (typeof v === 'string' ? `${v}x` : typeof v === 'number' ? v + 1 : v === null ? 0 : !v);
    for (const path of paths) {
      const where = path.join('.');
      assertRefused(() => verifyTaskJob(ring(key), { ...data, payload: edited(data.payload, path, changed) }), `changed ${where}`);
      assertRefused(() => verifyTaskJob(ring(key), { ...data, payload: edited(data.payload, path, () => undefined) }), `removed ${where}`);
    }
    assertRefused(() => verifyTaskJob(ring(key), { ...data, payload: edited(data.payload, ['extra'], () => 1) }), 'a field added');
    // The same content spelt differently is other bytes: refused too (nothing to canonicalise).
    assertRefused(() => verifyTaskJob(ring(key), { ...data, payload: JSON.stringify(JSON.parse(data.payload), null, 1) }), 'respelt');
    // Another job's genuine tag does not fit this payload.
    const other = taggedTaskJob(key, sample('t-2'));
    assertRefused(() => verifyTaskJob(ring(key), { ...data, tag: other.tag }), 'another job tag');
  });

  it('a missing, malformed or foreign tag is refused with the code; a tagged payload that is not a task is malformed', async () => {
    const data = taggedTaskJob(key, sample());
    const { tag: _t, ...untagged } = data;
    const foreign = deriveQueueKey({ runnerId: 'rnr_1', privateKey: (await generateSigningKeyPair()).privateJwk });
    for (const [why, bad] of [
      ['no tag', untagged],
      ['tag not a string', { ...data, tag: 42 }],
      ['payload not a string', { ...data, payload: JSON.parse(data.payload) as unknown }],
      ['no key id', { ...data, tag: data.tag.slice(data.tag.indexOf('.')) }],
      ['short mac', { ...data, tag: data.tag.slice(0, -4) }],
      ['unknown key id', taggedTaskJob(foreign, sample())],
      ['right key id, wrong key', taggedTaskJob({ kid: key.kid, key: foreign.key }, sample())],
      ['not an object', 'garbage'],
      ['null', null],
    ] as const)
      assertRefused(() => verifyTaskJob(ring(key), bad), why);
    const notATask = tagPayload(key, '{"taskId":"t-1"}');
    assertRefused(
      () => verifyTaskJob(ring(key), { taskId: 't-1', payload: '{"taskId":"t-1"}', tag: notATask }),
      'no task',
      'PAR_ERR_TASK_MALFORMED',
    );
  });

  it('rotation: the previous key is kept (derived, not the private key) and counts until its time, then not', async () => {
    const fresh = await generateSigningKeyPair();
    const identity = {
      runnerId: 'rnr_1',
      privateKey: { kty: 'OKP', crv: 'Ed25519', d: VECTOR_D },
      publicKey: { kty: 'OKP' },
      pendingIdentityKey: { privateKey: fresh.privateJwk, publicKey: fresh.publicJwk },
    } as unknown as RunnerIdentity;
    const now = 1_700_000_000_000;
    const newPrivate = fresh.privateJwk as RunnerIdentity['privateKey'];
    const newPublic = fresh.publicJwk as RunnerIdentity['publicKey'];
    const rotated = rotatedIdentity(identity, newPrivate, newPublic, now + 5 * 60_000, now);
    assert.equal(rotated.pendingIdentityKey, undefined);
    assert.equal(rotated.previousQueueKey?.kid, key.kid);
    assert.equal(rotated.previousQueueKey.until, now + PREVIOUS_QUEUE_KEY_MIN_MS, 'at least the minimum, when the overlap is shorter');
    assert.ok(!JSON.stringify(rotated).includes(VECTOR_D), 'the previous private key is gone');
    const longOverlap = now + 2 * PREVIOUS_QUEUE_KEY_MIN_MS;
    assert.equal(rotatedIdentity(identity, newPrivate, newPublic, longOverlap, now).previousQueueKey?.until, longOverlap);

    const keys = queueKeysOf(rotated);
    const current = deriveQueueKey(rotated);
    assert.deepEqual([...keys.keys()].sort(), [current.kid, key.kid].sort());
    const oldJob = taggedTaskJob(key, sample());
    verifyTaskJob(keys, oldJob, now + 60_000);
    verifyTaskJob(keys, taggedTaskJob(current, sample()), now + 10 * PREVIOUS_QUEUE_KEY_MIN_MS);
    assertRefused(() => verifyTaskJob(keys, oldJob, now + PREVIOUS_QUEUE_KEY_MIN_MS + 1), 'previous key past its time');
  });
});
