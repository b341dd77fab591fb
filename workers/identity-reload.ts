/**
 * The keys a worker checks job tags with (src/crypto/task-job-tag.ts), from the runner identity
 * it shares with the runner (config.yaml, or PAR_RUNNER_IDENTITY): the key derived from the
 * current identity key, and during a rotation overlap the previous one (`previousQueueKey`,
 * until its time). When the runner rotates its identity it rewrites config.yaml before it tags
 * anything with the new key; a worker re-reads the file when a tag names a key it does not hold,
 * and every few seconds when the file changed, so it also drops a previous key it no longer lists.
 * Keys are derived once per identity, never per task.
 */
import { stat } from 'node:fs/promises';
import type { RunnerIdentity } from '../src/contracts/runner-identity.js';
import type { TaskJobPayload } from '../src/contracts/jobs.js';
import { deriveQueueKey, tagKeyId, verifyTaskJob, type QueueKey } from '../src/crypto/task-job-tag.js';
import type { Logger } from '../src/logging/logger.js';
import { identityPath, readIdentity } from '../src/lib/identity-file.js';
import { periodic, type Periodic } from '../src/lib/periodic.js';

const WATCH_MS = 2_000;

/** The tag keys an identity lists: its own, and its previous one while that still counts. */
export function queueKeysOf(identity: RunnerIdentity): Map<string, QueueKey> {
  const keys = new Map<string, QueueKey>();
  const current = deriveQueueKey(identity);
  keys.set(current.kid, current);
  const previous = identity.previousQueueKey;
  if (previous && previous.kid !== current.kid)
    keys.set(previous.kid, { kid: previous.kid, key: Buffer.from(previous.key, 'base64url'), until: previous.until });
  return keys;
}

export class QueueKeyRing {
  private keys: Map<string, QueueKey>;
  private lastMtimeMs = 0;
  private loop: Periodic | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    identity: RunnerIdentity,
    private readonly configDir: string,
    private readonly fromEnv: string | undefined,
    private readonly logger: Logger,
  ) {
    this.keys = queueKeysOf(identity);
  }

  /** The job's payload if its tag is valid by a key this worker holds; else throws PAR_ERR_TASK_SIGNATURE_INVALID. */
  async verify(data: unknown): Promise<TaskJobPayload> {
    const kid = tagKeyId(data);
    // A key id not held yet: the runner may have rotated its identity since the last read.
    if (kid !== undefined && !this.keys.has(kid)) await this.reload();
    return verifyTaskJob(this.keys, data);
  }

  watch(): void {
    void this.mtime().then((m) => {
      this.lastMtimeMs = m;
    });
    this.loop = periodic({
      name: 'runner identity re-read',
      intervalMs: WATCH_MS,
      runAtStart: false,
      unref: true,
      stopWaitMs: 2000,
      logger: this.logger,
      tick: async () => {
        const m = await this.mtime();
        if (m === this.lastMtimeMs) return;
        this.lastMtimeMs = m;
        await this.reload();
      },
    });
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  private reload(): Promise<void> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    try {
      const identity = await readIdentity(this.configDir, this.fromEnv);
      if (!identity) return;
      this.keys = queueKeysOf(identity);
      this.logger.info({ queueKeys: [...this.keys.keys()] }, 're-read the runner identity (queue tag keys)');
    } catch (error) {
      // Keep the keys held so far: a half-edited file must not stop the worker.
      this.logger.warn({ err: error }, 'could not re-read the runner identity; keeping the queue tag keys held so far');
    }
  }

  private async mtime(): Promise<number> {
    try {
      return (await stat(identityPath(this.configDir))).mtimeMs;
    } catch {
      return 0;
    }
  }
}
