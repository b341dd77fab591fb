/**
 * The runner's trusted control-plane signing keys, kept current: fetched from the control plane
 * (`GET /api/v1/runner/keys`, over the runner's authenticated channel) at start, every
 * `PAR_RUNNER_KEYS_REFRESH_MS`, and as soon as a task names a key the runner does not know. A
 * fetched key is trusted only if a trusted key endorses it (src/crypto/key-chain.ts); the answer
 * itself is not. New keys and retirement times are written to config.yaml BEFORE the runner's
 * verifier uses them, so the file always holds every key the runner trusts. (Workers do not
 * verify the JWS: they check the tag intake puts on each job, src/crypto/task-job-tag.ts.)
 */
import { applyKeyAnswer } from '../crypto/key-chain.js';
import { verifierKeys, type TaskVerifier, type VerifierKeys } from '../crypto/task-signature.js';
import { toParError } from '../errors/par-error.js';
import { periodic, type Periodic } from '../lib/periodic.js';
import type { Logger } from '../logging/logger.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import type { IdentityStore } from './identity-store.js';

/** A kid the control plane did not know is asked about again only after this long. */
const UNKNOWN_KID_RETRY_MS = 5_000;

export interface KeyManagerDeps {
  store: IdentityStore;
  client: Pick<ControlPlaneClient, 'keys'>;
  verifier: () => TaskVerifier;
  refreshMs: number;
  logger: Logger;
  now?: () => number;
}

export class KeyManager {
  private inFlight: Promise<void> | undefined;
  private readonly missing = new Map<string, number>();
  private readonly loop: Periodic;
  private readonly now: () => number;

  constructor(private readonly deps: KeyManagerDeps) {
    this.now = deps.now ?? Date.now;
    this.loop = periodic({
      name: 'key refresh',
      tick: () => this.refresh('periodic'),
      intervalMs: deps.refreshMs,
      runAtStart: false,
      unref: true,
      stopWaitMs: 2000,
      logger: deps.logger,
    });
  }

  start(): void {
    void this.refresh('start');
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** The verifier's hook: a task names `kid`, which is not trusted yet. */
  async keysFor(kid: string): Promise<VerifierKeys | undefined> {
    const askedAt = this.missing.get(kid);
    if (askedAt !== undefined && this.now() - askedAt < UNKNOWN_KID_RETRY_MS) return undefined;
    // A fetch already running may have started before the key existed: wait for it, then look again.
    if (this.inFlight) await this.inFlight;
    if (!this.knows(kid)) await this.refresh('unknown kid');
    if (!this.knows(kid)) {
      if (this.missing.size > 1000) this.missing.clear();
      this.missing.set(kid, this.now());
      return undefined;
    }
    return verifierKeys(this.deps.store.current);
  }

  /** Fetches and applies the key chain (single flight); failures are logged, never thrown. */
  refresh(reason: string): Promise<void> {
    this.inFlight ??= this.fetch(reason).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private knows(kid: string): boolean {
    return this.deps.store.current.controlPlaneKeys.keys.some((k) => k['kid'] === kid);
  }

  private async fetch(reason: string): Promise<void> {
    const result = await this.deps.client.keys();
    if (!result.ok) {
      this.deps.logger.warn({ code: result.error.code, reason }, "could not fetch the control plane's signing keys");
      return;
    }
    try {
      const identity = this.deps.store.current;
      const update = await applyKeyAnswer(
        { keys: identity.controlPlaneKeys, retirements: identity.controlPlaneKeyRetirements ?? {} },
        result.value,
      );
      if (update.untrusted.length > 0) {
        this.deps.logger.warn(
          { untrusted: update.untrusted.map((k) => k.slice(0, 12)), reason },
          'the key answer holds keys no trusted key endorses: they are not trusted',
        );
      }
      if (!update.changed) return;
      const written = await this.deps.store.update((current) => ({
        ...current,
        controlPlaneKeys: update.state.keys,
        controlPlaneKeyRetirements: update.state.retirements,
      }));
      this.deps.verifier().update(verifierKeys(written));
      this.deps.logger.info(
        {
          added: update.added.map((k) => k.slice(0, 12)),
          retired: update.retired.map((k) => k.slice(0, 12)),
          reason,
          persisted: this.deps.store.persisted,
        },
        'control-plane signing keys updated',
      );
    } catch (error) {
      const parError = toParError(error, 'PAR_ERR_KEYS_UNTRUSTED');
      this.deps.logger.error({ code: parError.code, err: parError }, "refused the control plane's key answer: nothing from it is trusted");
    }
  }
}
