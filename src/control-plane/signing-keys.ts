/**
 * The task-signing key ring of one control-plane process: signs with the active key and answers
 * what runners should trust. Every process sharing the Redis follows a rotation promptly: a
 * rotation publishes on `keysChannel` (own subscriber connection; a reconnect re-reads), and a
 * re-read every `PAR_SIGNING_KEY_RELOAD_MS` catches a lost notice. The same tick runs the
 * scheduled rotation (`PAR_SIGNING_KEY_ROTATE_INTERVAL_MS`): every process may try, the
 * compare-and-set in the store lets exactly one win.
 */
import { duplicateConnection, type Redis } from '../lib/redis-connection.js';
import type { ControlPlaneConfig } from '../config/control-plane.js';
import { signingKeyRetireAfterMs } from '../config/control-plane.js';
import type { KeyAnswer } from '../contracts/control-plane-keys.js';
import type { Jwks } from '../contracts/runner-api.js';
import { importSigningKey } from '../crypto/keys.js';
import { TaskSigner, type TaskSigning, type UnsignedTaskClaims } from '../crypto/task-signature.js';
import { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import type { KeySpace } from './store/key-space.js';
import { keyAnswer, readKeyRing, rotateSigningKey, trustedJwks, type KeyRing } from './store/signing-key.js';
import { periodic, type Periodic } from '../lib/periodic.js';

export interface SigningKeyRingOptions {
  redis: Redis;
  ks: KeySpace;
  config: ControlPlaneConfig;
  logger: Logger;
  now: () => number;
}

export class SigningKeyRing implements TaskSigning {
  private ring!: KeyRing;
  /** Set by the first reload(), which start() awaits. */
  private signer: TaskSigner | undefined;
  private loop: Periodic | undefined;
  private subscriber: Redis | undefined;
  private reloading: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly options: SigningKeyRingOptions) {}

  static async start(options: SigningKeyRingOptions): Promise<SigningKeyRing> {
    const ring = new SigningKeyRing(options);
    await ring.reload();
    await ring.subscribe();
    ring.loop = periodic({
      name: 'signing-key reload',
      tick: () => ring.tick(),
      intervalMs: options.config.signingKeyReloadMs,
      runAtStart: false,
      unref: true,
      stopWaitMs: 2000,
      logger: options.logger,
    });
    ring.loop.start();
    return ring;
  }

  get kid(): string {
    return this.activeSigner().kid;
  }

  sign(claims: UnsignedTaskClaims, ttlMs: number, nowMs?: number): Promise<string> {
    return this.activeSigner().sign(claims, ttlMs, nowMs);
  }

  private activeSigner(): TaskSigner {
    if (!this.signer) throw new Error('SigningKeyRing: no signing key loaded yet (use SigningKeyRing.start)');
    return this.signer;
  }

  /** Active + retiring public keys: what an enrolling runner pins. */
  jwks(): Jwks {
    return trustedJwks(this.ring, this.options.now());
  }

  /** The key chain for `GET /api/v1/runner/keys`. */
  answer(): KeyAnswer {
    return keyAnswer(this.ring, this.options.now());
  }

  /** Re-reads the ring from Redis (single flight); swaps the signer when the active key changed. */
  reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const ring = await readKeyRing(this.options.redis, this.options.ks, this.options.now());
        if (!this.signer || this.signer.kid !== ring.active.kid) {
          const previous = this.signer?.kid;
          this.signer = new TaskSigner(await importSigningKey(ring.active.privateJwk), ring.active.kid);
          if (previous)
            this.options.logger.info({ kid: ring.active.kid, previousKid: previous }, 'task-signing key rotated: signing with the new key');
        }
        this.ring = ring;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop?.stop();
    if (this.subscriber) {
      try {
        await this.subscriber.quit();
      } catch {
        this.subscriber.disconnect();
      }
    }
  }

  private async subscribe(): Promise<void> {
    const subscriber = duplicateConnection(this.options.redis);
    this.subscriber = subscriber;
    subscriber.on(
      'message',
      () => void this.reload().catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not reload the signing key')),
    );
    subscriber.on('error', (error: Error) => this.options.logger.warn({ err: error }, 'signing-key subscriber error'));
    let connectedOnce = false;
    subscriber.on('ready', () => {
      // A notice published while disconnected is lost: re-read after every reconnect.
      if (connectedOnce) void this.reload().catch(() => undefined);
      connectedOnce = true;
    });
    await subscriber.connect();
    await subscriber.subscribe(this.options.ks.keysChannel);
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    try {
      await this.reload();
      const interval = this.options.config.signingKeyRotateIntervalMs;
      if (interval > 0 && this.options.now() - this.ring.activeCreatedAt >= interval) {
        const result = await rotateSigningKey(this.options.redis, this.options.ks, {
          retireAfterMs: signingKeyRetireAfterMs(this.options.config),
          now: this.options.now(),
          expectedKid: this.ring.active.kid,
        });
        this.options.logger.info(
          { kid: result.kid, previousKid: result.previousKid, previousNotAfter: new Date(result.previousNotAfter).toISOString() },
          'scheduled task-signing key rotation',
        );
        await this.reload();
      }
    } catch (error) {
      // Another process won the scheduled rotation: the notice will reach us.
      if (error instanceof ParError && error.code === 'PAR_ERR_SIGNING_KEY_ROTATION_CONFLICT') return;
      this.options.logger.warn({ err: error }, 'signing-key reload or scheduled rotation failed; retrying on the next tick');
    }
  }
}
