/**
 * Connections (integration type + where the runner finds the credential file). Creating them is a
 * later issue; for now tasks can only reference a connection that already exists in the store.
 * A connection holds no secret, so its reference goes into the signed claims as is.
 */
import type { Redis } from 'ioredis';
import { connectionRefSchema, type ConnectionRef } from '../../contracts/task.js';
import type { KeySpace } from './key-space.js';

export async function findConnection(redis: Redis, ks: KeySpace, orgId: string, connectionId: string): Promise<ConnectionRef | undefined> {
  const h = await redis.hgetall(ks.connection(connectionId));
  if (h['orgId'] !== orgId) return undefined;
  const parsed = connectionRefSchema.safeParse({
    id: connectionId,
    integration: h['integration'],
    ...(h['credentialPath'] ? { credentialPath: h['credentialPath'] } : {}),
    ...(h['settings'] ? { settings: JSON.parse(h['settings']) as unknown } : {}),
  });
  return parsed.success ? parsed.data : undefined;
}
