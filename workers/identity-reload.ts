/**
 * Workers re-verify every task against the control-plane keys in the runner's config.yaml. When
 * the control plane rotates its signing key, the runner writes the new key (and the old key's
 * retirement time) there before it accepts a task signed with it; a worker re-reads the file when
 * a task names a key it does not know, and every few seconds when the file changed, so it also
 * learns retirements. A runner without config.yaml (PAR_RUNNER_IDENTITY) shares its last key
 * answer in its Redis instead: the worker walks that chain from its own pinned keys, so whoever
 * can write to Redis still cannot add a key.
 */
import { stat } from 'node:fs/promises';
import type { TaskVerifier, VerifierKeys } from '../src/crypto/task-signature.js';
import type { Logger } from '../src/logging/logger.js';
import { identityPath, readIdentity } from '../src/lib/identity-file.js';
import { verifierKeys } from '../src/crypto/task-signature.js';
import { keyAnswerSchema } from '../src/contracts/control-plane-keys.js';
import { applyKeyAnswer } from '../src/crypto/key-chain.js';
import { periodic, type Periodic } from '../src/lib/periodic.js';

const WATCH_MS = 2_000;

export class IdentityKeysReloader {
  private lastMtimeMs = 0;
  private loop: Periodic | undefined;
  private reading: Promise<VerifierKeys | undefined> | undefined;

  constructor(
    private readonly configDir: string,
    private readonly fromEnv: string | undefined,
    private readonly logger: Logger,
    /** The key answer the runner shared in Redis (JSON), if any. */
    private readonly sharedAnswer: (runnerId: string) => Promise<string | null> = () => Promise.resolve(null),
  ) {}

  /** The verifier's hook for an unknown kid: the file as it is now. */
  keysFor(): Promise<VerifierKeys | undefined> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  watch(verifier: () => TaskVerifier): void {
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
        const keys = await this.keysFor();
        if (keys) verifier().update(keys);
      },
    });
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  private async mtime(): Promise<number> {
    try {
      return (await stat(identityPath(this.configDir))).mtimeMs;
    } catch {
      return 0;
    }
  }

  private async read(): Promise<VerifierKeys | undefined> {
    const identity = await readIdentity(this.configDir, this.fromEnv);
    if (!identity) return undefined;
    let keys = verifierKeys(identity);
    const shared = await this.sharedAnswer(identity.runnerId).catch(() => null);
    if (shared) {
      try {
        const answer = keyAnswerSchema.parse(JSON.parse(shared));
        const update = await applyKeyAnswer({ keys: keys.keys, retirements: keys.retirements ?? {} }, answer);
        keys = { keys: update.state.keys, retirements: update.state.retirements };
      } catch (error) {
        this.logger.warn({ err: error }, 'the key answer shared in Redis is not trusted; using the identity file only');
      }
    }
    this.logger.info({ keys: keys.keys.keys.length }, 're-read the control-plane keys');
    return keys;
  }
}
