/**
 * The control plane's Redis key layout, in one place (README.md beside app.ts documents it).
 * Every key and channel starts with `config.keyPrefix`, so several control planes (and every test)
 * can share one Redis without seeing each other.
 */
export interface KeySpace {
  readonly prefix: string;
  /** Set once at first start: `{orgId, userId}` of the bootstrap org and admin user. */
  readonly bootstrap: string;
  /** The task-signing key pair (JSON of KeyPairJwk). */
  readonly signingKey: string;
  /** Hash kid -> JSON of a public signing-key entry (createdAt, notAfter, endorsement): the key chain, public parts only. */
  readonly signingKeyRing: string;
  /** Pub/sub channel: message = new active kid, after a signing-key rotation. */
  readonly keysChannel: string;
  org(orgId: string): string;
  user(userId: string): string;
  /** Hash of one API key (by SHA-256 hex): orgId, createdAt. */
  apiKey(keyHash: string): string;
  /** Hash of one application key (by SHA-256 hex): orgId, userId, scopes, createdAt. */
  appKey(keyHash: string): string;
  /** Set of the API key hashes of an org. */
  orgApiKeys(orgId: string): string;
  /** Set of the application key hashes of a user. */
  userAppKeys(userId: string): string;
  runner(runnerId: string): string;
  /** Hash principal (`user:<id>`) -> role (`editor` ...). */
  runnerGrants(runnerId: string): string;
  /** Hash runner name -> runner id: keeps names unique per org. */
  orgRunners(orgId: string): string;
  /** Set of every runner id (for the runner list). */
  readonly allRunners: string;
  /** List of task ids ready for a runner: LPUSH new, RPUSH requeued, RPOP to deliver. */
  ready(runnerId: string): string;
  /** Set of the runner's leased task ids a user cancelled, handed to it with its next dequeue answer (expires). */
  runnerCancels(runnerId: string): string;
  task(taskId: string): string;
  /** List of the task's history entries: `task(id) + ':events'` (Lua scripts build it that way). */
  taskEvents(taskId: string): string;
  /** `task(id)` is `taskPrefix + id` (Lua scripts build task keys from it). */
  readonly taskPrefix: string;
  connection(connectionId: string): string;
  /** Hash of one enrollment token (by SHA-256 hex): runnerId, orgId, createdBy, createdAt, expiresAt, usedAt. */
  enrollmentToken(tokenHash: string): string;
  /** String: hash of the runner's current enrollment token (a new token replaces the old one). */
  runnerEnrollmentToken(runnerId: string): string;
  /** String: JSON of the runner's last health check (with receivedAt). */
  runnerHealth(runnerId: string): string;
  /** Sorted set task id -> lease expiry (ms): the sweeper's work list. */
  readonly leases: string;
  /** Pub/sub channel: message = runner id that has new ready tasks. */
  readonly readyChannel: string;
  /** Pub/sub channel: message = task id that just got its final result. */
  readonly doneChannel: string;
}

export function keySpace(prefix: string): KeySpace {
  const p = prefix;
  return {
    prefix: p,
    bootstrap: `${p}:bootstrap`,
    signingKey: `${p}:signing-key`,
    signingKeyRing: `${p}:signing-keys`,
    keysChannel: `${p}:events:keys`,
    org: (id) => `${p}:org:${id}`,
    user: (id) => `${p}:user:${id}`,
    apiKey: (h) => `${p}:apikey:${h}`,
    appKey: (h) => `${p}:appkey:${h}`,
    orgApiKeys: (id) => `${p}:org:${id}:apikeys`,
    userAppKeys: (id) => `${p}:user:${id}:appkeys`,
    runner: (id) => `${p}:runner:${id}`,
    runnerGrants: (id) => `${p}:runner:${id}:grants`,
    orgRunners: (id) => `${p}:org:${id}:runners`,
    allRunners: `${p}:runners`,
    ready: (id) => `${p}:runner:${id}:ready`,
    runnerCancels: (id) => `${p}:runner:${id}:cancels`,
    task: (id) => `${p}:task:${id}`,
    taskEvents: (id) => `${p}:task:${id}:events`,
    taskPrefix: `${p}:task:`,
    connection: (id) => `${p}:connection:${id}`,
    enrollmentToken: (h) => `${p}:enroll-token:${h}`,
    runnerEnrollmentToken: (id) => `${p}:runner:${id}:enroll-token`,
    runnerHealth: (id) => `${p}:runner:${id}:health`,
    leases: `${p}:leases`,
    readyChannel: `${p}:events:ready`,
    doneChannel: `${p}:events:done`,
  };
}
