/**
 * Connections (integration type + where the runner finds the credential file). Creating them is a
 * later issue; for now tasks can only reference a connection that already exists in the store.
 * A connection holds no secret, so its reference goes into the signed claims as is.
 */
import { randomUUID } from 'node:crypto';
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

export interface NewConnection {
  orgId: string;
  runnerId: string;
  name: string;
  integration: string;
  /** Path of the credential file on the runner, relative to its config dir. */
  credentialPath?: string;
  /** Non-secret settings (base URL, header templates, kubeconfig context...). */
  settings?: Record<string, unknown>;
}

/** Stores a connection and returns its id. The HTTP API for connections builds on this. */
export async function createConnection(redis: Redis, ks: KeySpace, c: NewConnection, now: number = Date.now()): Promise<string> {
  const id = randomUUID();
  await redis.hset(ks.connection(id), {
    id, orgId: c.orgId, runnerId: c.runnerId, name: c.name, integration: c.integration, createdAt: String(now),
    ...(c.credentialPath ? { credentialPath: c.credentialPath } : {}),
    ...(c.settings ? { settings: JSON.stringify(c.settings) } : {}),
  });
  return id;
}
