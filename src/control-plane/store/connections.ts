/**
 * Connections: a name on a runner, an integration type, non-secret settings and where the runner
 * finds the credential file. A connection holds no secret, so its reference goes into the signed
 * claims as is. Names are unique per runner (`P:runner:<id>:connections` name -> id).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../../lib/redis-connection.js';
import type { ConnectionView } from '../../contracts/admin-api.js';
import { connectionRefSchema, type ConnectionRef } from '../../contracts/task.js';
import { ParError } from '../../errors/par-error.js';
import { accessKeySpace } from './access-key-space.js';
import type { KeySpace } from './key-space.js';

export interface ConnectionRecord extends ConnectionView {
  orgId: string;
}

function toRecord(id: string, h: Record<string, string>): ConnectionRecord | undefined {
  if (!h['orgId'] || !h['integration']) return undefined;
  const createdAt = Number(h['createdAt'] ?? 0);
  return {
    id,
    orgId: h['orgId'],
    name: h['name'] ?? id,
    runnerId: h['runnerId'] ?? '',
    integration: h['integration'],
    settings: h['settings'] ? (JSON.parse(h['settings']) as Record<string, unknown>) : {},
    ...(h['credentialPath'] ? { credentialPath: h['credentialPath'] } : {}),
    createdAt,
    updatedAt: Number(h['updatedAt'] ?? createdAt),
  };
}

export function toConnectionView(c: ConnectionRecord): ConnectionView {
  const { orgId: _orgId, ...view } = c;
  return view;
}

export async function getConnection(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  connectionId: string,
): Promise<ConnectionRecord | undefined> {
  const record = toRecord(connectionId, await redis.hgetall(ks.connection(connectionId)));
  return record && record.orgId === orgId ? record : undefined;
}

/** The reference a task's signed claims carry. */
export function toConnectionRef(c: ConnectionRecord): ConnectionRef {
  return connectionRefSchema.parse({
    id: c.id,
    integration: c.integration,
    ...(c.credentialPath ? { credentialPath: c.credentialPath } : {}),
    ...(Object.keys(c.settings).length > 0 ? { settings: c.settings } : {}),
  });
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

/** Stores a connection and returns its id; the name must be free on the runner. */
export async function createConnection(redis: Redis, ks: KeySpace, c: NewConnection, now: number = Date.now()): Promise<string> {
  const aks = accessKeySpace(ks);
  const id = randomUUID();
  if ((await redis.hsetnx(aks.runnerConnections(c.runnerId), c.name, id)) === 0)
    throw new ParError('PAR_ERR_CONNECTION_NAME_TAKEN', c.name);
  await redis
    .multi()
    .hset(ks.connection(id), {
      id,
      orgId: c.orgId,
      runnerId: c.runnerId,
      name: c.name,
      integration: c.integration,
      createdAt: String(now),
      updatedAt: String(now),
      ...(c.credentialPath ? { credentialPath: c.credentialPath } : {}),
      settings: JSON.stringify(c.settings ?? {}),
    })
    .exec();
  return id;
}

export interface ConnectionPatch {
  name?: string;
  settings?: Record<string, unknown>;
  /** null removes the path. */
  credentialPath?: string | null;
}

export async function updateConnection(
  redis: Redis,
  ks: KeySpace,
  current: ConnectionRecord,
  patch: ConnectionPatch,
  now: number,
): Promise<ConnectionRecord> {
  const aks = accessKeySpace(ks);
  if (patch.name !== undefined && patch.name !== current.name) {
    if ((await redis.hsetnx(aks.runnerConnections(current.runnerId), patch.name, current.id)) === 0)
      throw new ParError('PAR_ERR_CONNECTION_NAME_TAKEN', patch.name);
    await redis.hdel(aks.runnerConnections(current.runnerId), current.name);
  }
  const tx = redis.multi().hset(ks.connection(current.id), {
    updatedAt: String(now),
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
    ...(typeof patch.credentialPath === 'string' ? { credentialPath: patch.credentialPath } : {}),
  });
  if (patch.credentialPath === null) tx.hdel(ks.connection(current.id), 'credentialPath');
  await tx.exec();
  const updated = await getConnection(redis, ks, current.orgId, current.id);
  if (!updated) throw new ParError('PAR_ERR_NOT_FOUND', `connection ${current.id}`);
  return updated;
}

export async function deleteConnection(redis: Redis, ks: KeySpace, c: ConnectionRecord): Promise<void> {
  const aks = accessKeySpace(ks);
  await redis.multi().del(ks.connection(c.id), aks.connectionTasks(c.id)).hdel(aks.runnerConnections(c.runnerId), c.name).exec();
}

/** Connections of the given runners, sorted by runner then name. */
export async function listConnections(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  runnerIds: readonly string[],
): Promise<ConnectionRecord[]> {
  const aks = accessKeySpace(ks);
  const ids: string[] = [];
  for (const runnerId of runnerIds) ids.push(...(await redis.hvals(aks.runnerConnections(runnerId))));
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(ks.connection(id));
  const out: ConnectionRecord[] = [];
  ((await pipeline.exec()) ?? []).forEach(([error, value], i) => {
    if (error) throw error;
    const record = toRecord(ids[i] ?? '', value as Record<string, string>);
    if (record && record.orgId === orgId) out.push(record);
  });
  return out.sort((a, b) => a.runnerId.localeCompare(b.runnerId) || a.name.localeCompare(b.name));
}

/** Number of connections on each runner, in the order given. */
export async function countConnections(redis: Redis, ks: KeySpace, runnerIds: readonly string[]): Promise<number[]> {
  if (runnerIds.length === 0) return [];
  const aks = accessKeySpace(ks);
  const pipeline = redis.pipeline();
  for (const id of runnerIds) pipeline.hlen(aks.runnerConnections(id));
  return ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return Number(value);
  });
}
