/**
 * The running runner's identity, in memory and in `config.yaml`: one place that changes it (key
 * rotation of either side), one write at a time, always the whole file atomically (temp file +
 * rename, mode 0600), so workers re-reading it never see half a file and two updates never
 * overwrite each other. A runner that started from PAR_RUNNER_IDENTITY (no config.yaml) keeps its
 * changes in memory only.
 */
import { access } from 'node:fs/promises';
import { identityPath, writeIdentity } from '../lib/identity-file.js';
import { type RunnerIdentity } from '../contracts/runner-identity.js';

export class IdentityStore {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private identity: RunnerIdentity,
    private readonly configDir: string,
    readonly persisted: boolean,
  ) {}

  static async open(identity: RunnerIdentity, configDir: string): Promise<IdentityStore> {
    let persisted = true;
    try {
      await access(identityPath(configDir));
    } catch {
      persisted = false;
    }
    return new IdentityStore(identity, configDir, persisted);
  }

  get current(): RunnerIdentity {
    return this.identity;
  }

  /** Applies `change` to the newest identity and writes it (serialised with every other update). */
  update(change: (current: RunnerIdentity) => RunnerIdentity | undefined): Promise<RunnerIdentity> {
    const next = this.queue.then(async () => {
      const updated = change(this.identity);
      if (!updated) return this.identity;
      if (this.persisted) await writeIdentity(this.configDir, updated);
      this.identity = updated;
      return updated;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
