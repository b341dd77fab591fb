/**
 * Runner identity rotation, done by the running runner (asked through its loopback admin server,
 * or by `par runner rotate-identity --offline` for a stopped one):
 *
 * 1. a new Ed25519 pair is generated and written to config.yaml as `pendingIdentityKey` FIRST,
 *    so a crash after the control plane accepted it cannot lock the runner out;
 * 2. the control plane is asked with a token signed by the current key (possession of the old
 *    key), carrying the new public key and a proof signed by the new key (possession of the new
 *    key), bound to this runner, the key it replaces, and a one-time id;
 * 3. on success the new pair becomes the identity in config.yaml (atomic rewrite, mode 0600) and
 *    every later call is signed with it. Calls in flight keep working: the control plane accepts
 *    the previous key for `PAR_RUNNER_KEY_OVERLAP_MS`. The same rewrite keeps the queue tag key
 *    derived from the previous key (`previousQueueKey`, never the private key itself) until the
 *    later of that overlap and PREVIOUS_QUEUE_KEY_MIN_MS, so workers still run the jobs queued
 *    before the rotation (src/crypto/task-job-tag.ts).
 *
 * At start-up, a leftover `pendingIdentityKey` is resolved by asking the control plane which key
 * it accepts (`recoverPendingIdentity`).
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { IDENTITY_PROOF_TTL_S, IDENTITY_PROOF_TYP, type RotateIdentityResponse } from '../contracts/control-plane-keys.js';
import { RUNNER_TOKEN_AUDIENCE } from '../contracts/runner-api.js';
import { kidOf } from '../crypto/key-chain.js';
import { SIGNING_ALG, generateSigningKeyPair, importSigningKey, type SigningKey } from '../crypto/keys.js';
import { RunnerTokenMinter } from '../crypto/runner-token.js';
import { deriveQueueKey } from '../crypto/task-job-tag.js';
import { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import type { IdentityStore } from './identity-store.js';
import type { RunnerIdentity } from '../contracts/runner-identity.js';

export interface IdentityRotationDeps {
  store: IdentityStore;
  client: Pick<ControlPlaneClient, 'rotateIdentity' | 'keysWith' | 'setTokenSource'>;
  logger: Logger;
  /** Told the new private key once it is adopted (the audit log hands its checkpoints over to it). */
  onAdopted?: ((privateKey: IdentityStore['current']['privateKey']) => Promise<void>) | undefined;
}

export interface IdentityRotationResult extends RotateIdentityResponse {
  previousKid: string;
}

export async function identityProof(
  runnerId: string,
  oldKid: string,
  newKid: string,
  newPrivate: SigningKey,
  nowMs = Date.now(),
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ oldKid, newKid })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: newKid, typ: IDENTITY_PROOF_TYP })
    .setIssuer(runnerId)
    .setAudience(RUNNER_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + IDENTITY_PROOF_TTL_S)
    .setJti(randomBytes(18).toString('base64url'))
    .sign(newPrivate);
}

/** Jobs queued under the previous identity key still run for at least this long after a rotation. */
export const PREVIOUS_QUEUE_KEY_MIN_MS = 60 * 60_000;

let running: Promise<IdentityRotationResult> | undefined;

/** Rotates the runner's identity key; one rotation at a time per process. */
export function rotateIdentity(deps: IdentityRotationDeps): Promise<IdentityRotationResult> {
  running ??= doRotate(deps).finally(() => {
    running = undefined;
  });
  return running;
}

async function doRotate(deps: IdentityRotationDeps): Promise<IdentityRotationResult> {
  if (!deps.store.persisted) {
    throw new ParError(
      'PAR_ERR_ENROLL_IDENTITY_INVALID',
      'this runner runs from PAR_RUNNER_IDENTITY (no config.yaml): a rotated key could not be kept; enroll with a config dir, or re-issue the secret',
    );
  }
  // A rotation that did not finish first: its key may already be the one the control plane holds.
  if (deps.store.current.pendingIdentityKey) {
    await recoverPendingIdentity(deps);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- recoverPendingIdentity may have cleared it (TS keeps the narrowing across the await)
    if (deps.store.current.pendingIdentityKey)
      throw new ParError(
        'PAR_ERR_INTERNAL',
        'an earlier identity rotation is still unresolved (control plane unreachable); try again later',
      );
  }
  const identity = deps.store.current;
  const fresh = await generateSigningKeyPair();
  const oldKid = await kidOf(identity.publicKey);
  await deps.store.update((current) => ({
    ...current,
    pendingIdentityKey: { privateKey: fresh.privateJwk as RunnerKeyJwk, publicKey: fresh.publicJwk as RunnerKeyJwk },
  }));
  const proof = await identityProof(identity.runnerId, oldKid, fresh.kid, await importSigningKey(fresh.privateJwk));
  const answer = await deps.client.rotateIdentity({ publicKey: fresh.publicJwk as RunnerKeyJwk, proof });
  if (!answer.ok) {
    // The control plane said no (or could not be reached): the pending key stays for the start-up check if unreachable.
    if (answer.kind === 'http') await deps.store.update(({ pendingIdentityKey: _p, ...current }) => current);
    throw answer.error;
  }
  await adopt(deps, fresh.privateJwk as RunnerKeyJwk, fresh.publicJwk as RunnerKeyJwk, answer.value.previousKeyUntil);
  deps.logger.info(
    { kid: fresh.kid, previousKid: oldKid, previousKeyUntil: new Date(answer.value.previousKeyUntil).toISOString() },
    'runner identity key rotated',
  );
  return { ...answer.value, previousKid: oldKid };
}

async function adopt(deps: IdentityRotationDeps, privateKey: RunnerKeyJwk, publicKey: RunnerKeyJwk, previousKeyUntil = 0): Promise<void> {
  const written = await deps.store.update((current) => rotatedIdentity(current, privateKey, publicKey, previousKeyUntil));
  deps.client.setTokenSource(new RunnerTokenMinter(written.runnerId, await importSigningKey(written.privateKey)));
  await deps.onAdopted?.(written.privateKey);
}

type RunnerKeyJwk = IdentityStore['current']['privateKey'];

/**
 * The identity after a rotation: the new pair, no pending key, and the queue tag key of the
 * previous key (not the key itself) until the later of the control plane's overlap and
 * PREVIOUS_QUEUE_KEY_MIN_MS, so jobs queued before the rotation still pass the workers' check.
 */
export function rotatedIdentity(
  current: RunnerIdentity,
  privateKey: RunnerKeyJwk,
  publicKey: RunnerKeyJwk,
  previousKeyUntil: number,
  nowMs: number = Date.now(),
): RunnerIdentity {
  const { pendingIdentityKey: _p, ...rest } = current;
  const previous = deriveQueueKey(current);
  const until = Math.max(previousKeyUntil, nowMs + PREVIOUS_QUEUE_KEY_MIN_MS);
  return { ...rest, privateKey, publicKey, previousQueueKey: { kid: previous.kid, key: previous.key.toString('base64url'), until } };
}

/**
 * A pending key left by a rotation that did not finish: if the control plane accepts a token
 * signed by it, the rotation went through and the key is adopted; otherwise it is dropped.
 */
export async function recoverPendingIdentity(deps: IdentityRotationDeps): Promise<void> {
  const pending = deps.store.current.pendingIdentityKey;
  if (!pending) return;
  const minter = new RunnerTokenMinter(deps.store.current.runnerId, await importSigningKey(pending.privateKey));
  const probe = await deps.client.keysWith(minter);
  if (probe.ok) {
    await adopt(deps, pending.privateKey, pending.publicKey);
    deps.logger.warn('an identity rotation was interrupted after the control plane accepted it: adopted the new key');
  } else if (probe.kind === 'http') {
    await deps.store.update(({ pendingIdentityKey: _p, ...current }) => current);
    deps.logger.warn(
      { code: probe.error.code },
      'an identity rotation was interrupted before the control plane accepted it: kept the current key',
    );
  }
}
