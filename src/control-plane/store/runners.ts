/**
 * Enrolled runners: identity (public key), declared allowlist and modes, and who may manage them
 * (the grant given at enrollment). Names are unique per org.
 */
import type { RunnerNameCache } from './runner-name-cache.js';
import type { Redis } from '../../lib/redis-connection.js';
import type { JWK } from 'jose';
import type { RunnerView } from '../../contracts/tasks-api.js';
import { ERROR_CODES } from '../../errors/codes.js';
import { ParError } from '../../errors/par-error.js';
import { accessKeySpace } from './access-key-space.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';

export interface RunnerRecord extends RunnerView {
  /** Absent for a runner created from the page or API that has not enrolled with its token yet. */
  publicKey?: JWK;
}

export interface NewRunner {
  id: string;
  orgId: string;
  name: string;
  publicKey: JWK;
  allowlist: readonly string[];
  modes: readonly string[];
  version: string;
  /** The user who enrolled it: becomes its Editor. */
  enrolledBy: string;
  /** Set when the enrolling key belongs to a service account (then `enrolledBy` is its id). */
  enrolledByType?: 'user' | 'service_account';
  now: number;
}

export function runnerUrn(orgId: string, runnerId: string): string {
  return `urn:par:runner:${orgId}:${runnerId}`;
}

/** The fields every runner record starts with, whether enrolled now or created ahead of enrollment. */
export function newRunnerRecord(r: {
  id: string;
  orgId: string;
  name: string;
  allowlist: readonly string[];
  modes: readonly string[];
  version: string;
  now: number;
}): RunnerRecord {
  return {
    id: r.id,
    urn: runnerUrn(r.orgId, r.id),
    name: r.name,
    orgId: r.orgId,
    allowlist: [...r.allowlist],
    modes: [...r.modes],
    version: r.version,
    createdAt: r.now,
  };
}

/** Atomically claims the name in the org and stores the runner with its Editor grant. */
export async function enrollRunner(redis: Redis, ks: KeySpace, r: NewRunner): Promise<RunnerRecord> {
  const record: RunnerRecord = {
    ...newRunnerRecord(r),
    publicKey: r.publicKey,
  };
  const fields = [
    'id',
    record.id,
    'urn',
    record.urn,
    'name',
    record.name,
    'orgId',
    record.orgId,
    'allowlist',
    JSON.stringify(record.allowlist),
    'modes',
    JSON.stringify(record.modes),
    'version',
    record.version,
    'createdAt',
    String(record.createdAt),
    'publicKey',
    JSON.stringify(record.publicKey),
  ];
  const claimed = await runLuaScript(
    redis,
    'runner-enroll',
    [ks.orgRunners(r.orgId), ks.runner(r.id), ks.runnerGrants(r.id), ks.allRunners],
    [r.name, r.id, `${r.enrolledByType ?? 'user'}:${r.enrolledBy}`, 'editor', ...fields],
  );
  if (claimed !== 1) throw new ParError('PAR_ERR_ENROLL_NAME_TAKEN', r.name);
  return record;
}

export async function getRunner(redis: Redis, ks: KeySpace, runnerId: string): Promise<RunnerRecord | undefined> {
  return toRecord(await redis.hgetall(ks.runner(runnerId)));
}

/** The shape of a runner id (randomUUID). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Runner by id, or by name within the org; only runners of that org are found. A UUID-shaped
 * reference is looked up as an id first, anything else as a name first (submissions name the
 * runner: one round trip fewer than trying the id). With `names`, a name this process resolved
 * before is read by its id at once, and kept only while the record still has that org and name
 * (runner-name-cache.ts): one round trip instead of two.
 */
export async function findRunnerInOrg(
  redis: Redis,
  ks: KeySpace,
  orgId: string,
  idOrName: string,
  names?: RunnerNameCache,
): Promise<RunnerRecord | undefined> {
  const inOrg = (r: RunnerRecord | undefined): RunnerRecord | undefined => (r && r.orgId === orgId ? r : undefined);
  const byId = async (): Promise<RunnerRecord | undefined> => inOrg(await getRunner(redis, ks, idOrName));
  const byName = async (): Promise<RunnerRecord | undefined> => {
    const known = names?.get(orgId, idOrName);
    if (known !== undefined) {
      const runner = inOrg(await getRunner(redis, ks, known));
      if (runner?.name === idOrName) return runner;
      names?.delete(orgId, idOrName);
    }
    const id = await redis.hget(ks.orgRunners(orgId), idOrName);
    const runner = id ? inOrg(await getRunner(redis, ks, id)) : undefined;
    if (runner?.name === idOrName) names?.set(orgId, idOrName, runner.id);
    return runner;
  };
  return UUID.test(idOrName) ? ((await byId()) ?? (await byName())) : ((await byName()) ?? (await byId()));
}

/** Runners of one org, or of every org when orgId is undefined; sorted by name. */
export async function listRunners(redis: Redis, ks: KeySpace, orgId?: string): Promise<RunnerRecord[]> {
  const ids = orgId === undefined ? await redis.smembers(ks.allRunners) : await redis.hvals(ks.orgRunners(orgId));
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(ks.runner(id));
  const results = (await pipeline.exec()) ?? [];
  const runners: RunnerRecord[] = [];
  for (const [error, value] of results) {
    if (error) throw error;
    const record = toRecord(value as Record<string, string>);
    if (record) runners.push(record);
  }
  return runners.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Deletes the runner, its grants, ready list and connections in one step, and fails its open
 * tasks with PAR_ERR_RUNNER_DELETED; its identity is gone for every control-plane process
 * (runner auth checks the hash exists on each call).
 */
export async function deleteRunner(
  redis: Redis,
  ks: KeySpace,
  runner: { id: string; name: string; orgId: string },
  now: number = Date.now(),
): Promise<boolean> {
  const aks = accessKeySpace(ks);
  const deleted = await runLuaScript(
    redis,
    'runner-delete',
    [
      ks.runner(runner.id),
      ks.runnerGrants(runner.id),
      ks.ready(runner.id),
      ks.orgRunners(runner.orgId),
      ks.allRunners,
      aks.runnerConnections(runner.id),
      aks.runnerTasks(runner.id),
      ks.runnerHealth(runner.id),
      ks.runnerEnrollmentToken(runner.id),
      ks.leases,
    ],
    [runner.id, runner.name, ks.connection(''), ks.taskPrefix, now, ks.doneChannel, ERROR_CODES.PAR_ERR_RUNNER_DELETED.message],
  );
  return deleted === 1;
}

export async function touchRunner(redis: Redis, ks: KeySpace, runnerId: string, now: number): Promise<void> {
  // HSET only if the runner still exists, so a touch never resurrects a deleted runner's hash.
  await runLuaScript(redis, 'runner-touch', [ks.runner(runnerId)], [now]);
}

export function toView(r: RunnerRecord): RunnerView {
  const { publicKey: _publicKey, ...view } = r;
  return view;
}

function toRecord(h: Record<string, string>): RunnerRecord | undefined {
  if (!h['id'] || !h['orgId'] || !h['name']) return undefined;
  return {
    id: h['id'],
    urn: h['urn'] ?? runnerUrn(h['orgId'], h['id']),
    name: h['name'],
    orgId: h['orgId'],
    allowlist: parseStringArray(h['allowlist']),
    modes: parseStringArray(h['modes']),
    version: h['version'] ?? 'unknown',
    createdAt: Number(h['createdAt'] ?? 0),
    ...(h['lastSeenAt'] ? { lastSeenAt: Number(h['lastSeenAt']) } : {}),
    ...(h['publicKey'] ? { publicKey: JSON.parse(h['publicKey']) as JWK } : {}),
  };
}

function parseStringArray(text: string | undefined): string[] {
  if (!text) return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
