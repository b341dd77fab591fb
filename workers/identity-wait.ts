/**
 * Workers may start before the runner has enrolled (`par start`, compose): they wait for the
 * identity file the runner writes, rather than fail and be restarted in a loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ParError } from '../src/errors/par-error.js';
import type { Logger } from '../src/logging/logger.js';
import { identityPath, readIdentity } from '../src/lib/identity-file.js';
import { type RunnerIdentity } from '../src/contracts/runner-identity.js';

export const IDENTITY_POLL_MS = 500;

export interface IdentityWaitOptions {
  /** Give up after this long (0: wait forever). */
  waitMs: number;
  logger: Logger;
  signal?: AbortSignal | undefined;
  pollMs?: number;
  /** PAR_RUNNER_IDENTITY (base64 config.yaml): the identity when the config dir has none. */
  fromEnv?: string | undefined;
}

/** Resolves the identity; a malformed file fails at once (waiting would not fix it). */
export async function waitForIdentity(configDir: string, options: IdentityWaitOptions): Promise<RunnerIdentity> {
  const deadline = options.waitMs > 0 ? Date.now() + options.waitMs : Number.POSITIVE_INFINITY;
  let logged = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const identity = await readIdentity(configDir, options.fromEnv);
    if (identity) return identity;
    if (Date.now() >= deadline) {
      throw new ParError(
        'PAR_ERR_ENROLL_IDENTITY_INVALID',
        `${identityPath(configDir)} did not appear within ${options.waitMs} ms: has the runner enrolled with this config dir?`,
      );
    }
    if (!logged) {
      options.logger.info({ path: identityPath(configDir) }, 'waiting for the runner to enroll and write its identity');
      logged = true;
    }
    await sleep(options.pollMs ?? IDENTITY_POLL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
