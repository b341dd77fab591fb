/**
 * The tag that protects a `tasks` job on the runner's Redis (issue 12). The runner verified the
 * signed task at intake; the job it queues carries what the worker will act on (the verified
 * claims, flattened, with the delivery attempt, the acceptance time and the intake span's trace
 * context) as ONE JSON text, `payload`, and an HMAC-SHA256 tag over exactly those bytes. A worker
 * checks the tag (microseconds) instead of verifying the Ed25519 JWS again (~240 µs), then parses
 * the payload and acts on nothing else. Whoever can write to Redis but lacks the key cannot make
 * a worker run anything: editing any byte, swapping payloads between jobs or forging a job breaks
 * the tag.
 *
 * Why the exact bytes rather than a canonical form of the fields: what is checked is then exactly
 * what is parsed (no canonicalisation for two sides to disagree on: key order, number spelling,
 * undefined members), and it costs one HMAC over the text plus the JSON.parse BullMQ would have
 * done for a nested object anyway.
 *
 * The key is not a new secret to distribute: runner and workers both read the runner identity
 * (config.yaml or PAR_RUNNER_IDENTITY), so it is derived (HKDF-SHA256) from the runner's Ed25519
 * private key with a fixed info string, once per identity. The tag names its key by a key id
 * (also HKDF-derived, so it reveals nothing of the key), which lets a worker accept the previous
 * identity's key during a rotation (`previousQueueKey` in config.yaml, see identity-rotation.ts).
 *
 * Tag format: `<key id>.<base64url HMAC-SHA256(key, DOMAIN || payload)>`.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { TaskJobData, TaskJobPayload } from '../contracts/jobs.js';
import { ParError } from '../errors/par-error.js';

const KEY_INFO = 'par tasks-queue job tag: hmac-sha256 key v1';
const KEY_ID_INFO = 'par tasks-queue job tag: key id v1';
const DOMAIN = 'par-task-job-tag/v1\n';
const MAC_BYTES = 32;

/** A derived tag key and its id. The key never leaves process memory (and config.yaml for a previous key). */
export interface QueueKey {
  readonly kid: string;
  readonly key: Buffer;
  /** Epoch ms after which a previous identity's key is no longer accepted; absent for the current one. */
  readonly until?: number;
}

/** The part of the runner identity the key comes from. */
export interface QueueKeySource {
  runnerId: string;
  privateKey: Record<string, unknown>;
}

const derived = new Map<string, QueueKey>();

/** HKDF-SHA256 of the runner's Ed25519 private key (salt: runner id); cached per identity. */
export function deriveQueueKey(source: QueueKeySource): QueueKey {
  const d = source.privateKey['d'];
  if (typeof d !== 'string') throw new ParError('PAR_ERR_ENROLL_IDENTITY_INVALID', 'the runner identity has no private key');
  const cacheKey = `${source.runnerId}\n${d}`;
  const cached = derived.get(cacheKey);
  if (cached) return cached;
  const seed = Buffer.from(d, 'base64url');
  if (seed.length !== 32) throw new ParError('PAR_ERR_ENROLL_IDENTITY_INVALID', 'the runner private key is not an Ed25519 key');
  const salt = Buffer.from(source.runnerId, 'utf8');
  const key = Buffer.from(hkdfSync('sha256', seed, salt, KEY_INFO, 32));
  const kid = Buffer.from(hkdfSync('sha256', seed, salt, KEY_ID_INFO, 9)).toString('base64url');
  const queueKey: QueueKey = { kid, key };
  // Identities change rarely (rotation); a handful of entries is all a process ever needs.
  if (derived.size >= 8) derived.clear();
  derived.set(cacheKey, queueKey);
  return queueKey;
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(DOMAIN, 'utf8').update(payload, 'utf8').digest();
}

/** The tag of a payload text. */
export function tagPayload(key: QueueKey, payload: string): string {
  return `${key.kid}.${mac(key.key, payload).toString('base64url')}`;
}

/** A `tasks` job's data, as the runner's intake queues it: the payload as one JSON text, and its tag. */
export function taggedTaskJob(key: QueueKey, payload: TaskJobPayload): TaskJobData {
  const text = JSON.stringify(payload);
  return { taskId: payload.taskId, payload: text, tag: tagPayload(key, text) };
}

/** The key id a job's tag names, or undefined for anything that is not a tagged job. */
export function tagKeyId(data: unknown): string | undefined {
  const tag = (data as { tag?: unknown } | null | undefined)?.tag;
  if (typeof tag !== 'string') return undefined;
  const dot = tag.indexOf('.');
  return dot > 0 ? tag.slice(0, dot) : undefined;
}

/**
 * Checks a job's data against its tag with the key the tag names and returns the parsed payload;
 * throws PAR_ERR_TASK_SIGNATURE_INVALID (no tag, unknown key, a previous key past its time, or a
 * payload that does not match) and PAR_ERR_TASK_MALFORMED for a tagged payload this code cannot read.
 * `keys`: the keys this process accepts, by key id.
 */
export function verifyTaskJob(keys: ReadonlyMap<string, QueueKey>, data: unknown, nowMs: number = Date.now()): TaskJobPayload {
  const kid = tagKeyId(data);
  const { payload, tag } = (data ?? {}) as { payload?: unknown; tag?: unknown };
  if (kid === undefined || typeof tag !== 'string' || typeof payload !== 'string')
    throw new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', "the queued job has no tagged payload: it was not queued by this runner's intake");
  const key = keys.get(kid);
  if (!key) throw new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', `the queued job's tag names a key this worker does not hold (${kid})`);
  if (key.until !== undefined && nowMs > key.until)
    throw new ParError(
      'PAR_ERR_TASK_SIGNATURE_INVALID',
      "the queued job is tagged with the runner's previous identity key, past its overlap",
    );
  const given = Buffer.from(tag.slice(kid.length + 1), 'base64url');
  if (given.length !== MAC_BYTES || !timingSafeEqual(given, mac(key.key, payload)))
    throw new ParError(
      'PAR_ERR_TASK_SIGNATURE_INVALID',
      "the queued job's payload does not match its tag (edited after the runner queued it)",
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw new ParError('PAR_ERR_TASK_MALFORMED', 'the tagged payload is not JSON');
  }
  const p = parsed as Partial<TaskJobPayload> | null;
  const task = p?.task;
  if (
    typeof p?.taskId !== 'string' ||
    task?.taskId !== p.taskId ||
    typeof task.action !== 'string' ||
    typeof task.runnerId !== 'string' ||
    typeof task.timeoutMs !== 'number' ||
    typeof task.inputs !== 'object'
  )
    throw new ParError('PAR_ERR_TASK_MALFORMED', 'the tagged payload does not hold a task this worker can read');
  return p as TaskJobPayload;
}
