/**
 * Hands the control plane's cancels (named in heartbeat answers) to the workers: one MULTI sets
 * each task's marker and publishes its id on the cancel channel (contracts/jobs.ts). Idempotent:
 * the lease keeper forwards a cancelled task again at every heartbeat until its run's result is
 * published, so a message missed by a reconnecting worker is sent again.
 */
import type { Redis } from '../lib/redis-connection.js';
import { cancelChannel, cancelMarkerKey } from '../contracts/jobs.js';

/** Long enough for any job still queued or waiting on a retry backoff to meet it; renewed at each forward. */
export const CANCEL_MARKER_TTL_MS = 24 * 60 * 60 * 1000;

export async function forwardCancels(redis: Redis, queuePrefix: string, taskIds: readonly string[]): Promise<void> {
  if (taskIds.length === 0) return;
  const multi = redis.multi();
  for (const id of taskIds) multi.set(cancelMarkerKey(queuePrefix, id), String(Date.now()), 'PX', CANCEL_MARKER_TTL_MS);
  for (const id of taskIds) multi.publish(cancelChannel(queuePrefix), id);
  const results = await multi.exec();
  const failed = results?.find(([error]) => error !== null);
  if (!results || failed) throw failed?.[0] ?? new Error('the cancel transaction was discarded');
}
