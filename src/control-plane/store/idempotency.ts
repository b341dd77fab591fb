/**
 * Idempotency records of task submission: `<prefix>:idem:<orgId>:<sha256(owner, key)>`, a hash
 * `{taskId, fingerprint}` that expires after the window. Written only by the submit script in
 * tasks.ts, in the same atomic step that creates the task, so a key never names a task that was
 * not stored, and a stored task submitted with a key always has its record.
 *
 * Scope: the org and the app key's OWNER (user or service account), not the key itself: a client
 * retrying with a rotated key of the same owner still gets its task back, while two owners never
 * see each other's keys (or task ids). The raw key is hashed into the Redis key name, so neither
 * its length nor its content reaches Redis.
 */
import { createHash } from 'node:crypto';
import type { KeySpace } from './key-space.js';

export interface IdempotencyScope {
  orgId: string;
  owner: { type: string; id: string };
}

export function idempotencyRecordKey(ks: KeySpace, scope: IdempotencyScope, key: string): string {
  const digest = createHash('sha256').update(`${scope.owner.type}:${scope.owner.id}\n${key}`).digest('hex');
  return `${ks.prefix}:idem:${scope.orgId}:${digest}`;
}

/** JSON with object keys sorted at every level: the same request gives the same text whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  // What JSON.stringify gives no text for (its lib type says string).
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
  return JSON.stringify(value);
}

/** What makes two submissions "the same request": the resolved runner and everything the task will run with. */
export function submissionFingerprint(request: {
  runnerId: string;
  action: string;
  inputs: unknown;
  connectionId?: string | undefined;
  timeoutMs: number;
}): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        runnerId: request.runnerId,
        action: request.action,
        inputs: request.inputs,
        connectionId: request.connectionId ?? null,
        timeoutMs: request.timeoutMs,
      }),
    )
    .digest('hex');
}
