/**
 * Signing tasks (control plane) and verifying them (runner, and again in workers). The verifier
 * maps every failure to a stable error code, so a rejected task is reported precisely.
 *
 * The signer builds the compact JWS itself with node:crypto (Ed25519 over a KeyObject made once):
 * the same header and claims, in the same order, jose's SignJWT would write, so the same bytes
 * (Ed25519 is deterministic; a test compares them), at less than half jose's CPU per task. The
 * verifier checks them with node:crypto too (ed25519-jwt.ts: what jose's jwtVerify checks, on
 * KeyObjects made once per key set); jose-signed tasks verify the same way (tested).
 */
import { KeyObject, sign as cryptoSign } from 'node:crypto';
import { ed25519KeysByKid, jwtHeader, JwtVerificationError, verifyEd25519Jwt } from './ed25519-jwt.js';
import type { KeyRetirements } from '../contracts/control-plane-keys.js';
import { TASK_ISSUER, TASK_TYP, type Jwks } from '../contracts/runner-api.js';
import { taskClaimsSchema, type TaskClaims } from '../contracts/task.js';
import { ParError } from '../errors/par-error.js';
import { SIGNING_ALG, type SigningKey } from './keys.js';

export type UnsignedTaskClaims = Omit<TaskClaims, 'iss' | 'iat' | 'exp'>;

/** What signs tasks on the control plane: one key, or the rotating key ring's current key. */
export interface TaskSigning {
  readonly kid: string;
  sign(claims: UnsignedTaskClaims, ttlMs: number, nowMs?: number): Promise<string>;
}

export class TaskSigner implements TaskSigning {
  private readonly key: KeyObject;
  private readonly encodedHeader: string;

  constructor(
    privateKey: SigningKey,
    readonly kid: string,
  ) {
    this.key = KeyObject.from(privateKey);
    if (this.key.type !== 'private' || this.key.asymmetricKeyType !== 'ed25519')
      throw new Error('a task signer needs an Ed25519 private key');
    this.encodedHeader = base64url(JSON.stringify({ alg: SIGNING_ALG, kid, typ: TASK_TYP }));
  }

  sign(claims: UnsignedTaskClaims, ttlMs: number, nowMs: number = Date.now()): Promise<string> {
    const { sub, aud, ...custom } = claims;
    const iat = Math.floor(nowMs / 1000);
    // The claim order of jose's SignJWT: the custom claims, then iss, sub, aud, iat, exp.
    const payload = { ...custom, iss: TASK_ISSUER, sub, aud, iat, exp: Math.ceil((nowMs + ttlMs) / 1000) };
    const signingInput = `${this.encodedHeader}.${base64url(JSON.stringify(payload))}`;
    const signature = cryptoSign(null, Buffer.from(signingInput, 'ascii'), this.key).toString('base64url');
    return Promise.resolve(`${signingInput}.${signature}`);
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

export interface VerifyOptions {
  /** The runner this process belongs to: a task signed for another runner is refused. */
  runnerId: string;
  /** Workers re-verify tasks that may have waited for a retry: they skip the expiry check. */
  checkExpiry: boolean;
  /** Expected task id (from the delivery envelope), when known. */
  taskId?: string;
  now?: () => number;
}

/** The keys a verifier trusts, and when retired ones stop counting. */
export interface VerifierKeys {
  keys: Jwks;
  retirements?: KeyRetirements;
}

export interface TaskVerifierOptions {
  retirements?: KeyRetirements;
  /**
   * Called when a task names a key this verifier does not know (the control plane rotated): may
   * return a newer key set (fetched from the control plane, or re-read from config.yaml), which
   * replaces the current one. Undefined: no newer keys.
   */
  refreshKeys?: (kid: string) => Promise<VerifierKeys | undefined>;
}

/**
 * Verifies signed tasks against the control-plane keys pinned at enrollment (and learnt through
 * key rotation). A task signed by a retired key is refused once the key's `notAfter` has passed,
 * with PAR_ERR_TASK_KEY_RETIRED, whatever its own expiry says.
 */
export class TaskVerifier {
  private keySet: Map<string, KeyObject[]>;
  private kids: Set<string>;
  private retirements: KeyRetirements;

  constructor(
    pinnedKeys: Jwks,
    private readonly options: TaskVerifierOptions = {},
  ) {
    this.keySet = ed25519KeysByKid(pinnedKeys.keys);
    this.kids = kidsOf(pinnedKeys);
    this.retirements = options.retirements ?? {};
  }

  /** Replaces the trusted keys (after a key fetch or a config.yaml reload). */
  update(keys: VerifierKeys): void {
    this.keySet = ed25519KeysByKid(keys.keys.keys);
    this.kids = kidsOf(keys.keys);
    this.retirements = keys.retirements ?? {};
  }

  async verify(signedTask: string, options: VerifyOptions): Promise<TaskClaims> {
    if (typeof signedTask !== 'string' || signedTask.split('.').length !== 3) {
      throw new ParError('PAR_ERR_TASK_MALFORMED', 'not a compact JWS');
    }
    const nowMs = (options.now ?? Date.now)();
    const kid = headerKid(signedTask);
    // Every task names its key: without a kid jose would try each trusted key in turn, retired ones included.
    if (kid === undefined) throw new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'no key id (kid) in the header');
    if (!this.kids.has(kid) && this.options.refreshKeys) {
      const fresher = await this.options.refreshKeys(kid);
      if (fresher) this.update(fresher);
    }
    const retirement = this.retirements[kid];
    if (retirement && nowMs > retirement.notAfter) {
      throw new ParError(
        'PAR_ERR_TASK_KEY_RETIRED',
        `signed with key ${kid.slice(0, 12)}… retired at ${new Date(retirement.notAfter).toISOString()}`,
      );
    }
    let payload: unknown;
    try {
      payload = verifyEd25519Jwt(signedTask, this.keySet, {
        issuer: TASK_ISSUER,
        audience: options.runnerId,
        typ: TASK_TYP,
        nowS: options.checkExpiry ? Math.floor(nowMs / 1000) : 0,
      });
    } catch (error) {
      throw mapVerificationError(error);
    }
    const parsed = taskClaimsSchema.safeParse(payload);
    if (!parsed.success) throw new ParError('PAR_ERR_TASK_MALFORMED', parsed.error.issues[0]?.message ?? 'claims');
    const claims = parsed.data;
    if (options.taskId !== undefined && claims.sub !== options.taskId) {
      throw new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'delivery task id does not match the signed task id');
    }
    return claims;
  }
}

function kidsOf(jwks: Jwks): Set<string> {
  return new Set(jwks.keys.map((k) => k['kid']).filter((k): k is string => typeof k === 'string'));
}

function headerKid(jws: string): string | undefined {
  const kid = jwtHeader(jws)?.['kid'];
  return typeof kid === 'string' ? kid : undefined;
}

function mapVerificationError(error: unknown): ParError {
  if (!(error instanceof JwtVerificationError))
    return new ParError('PAR_ERR_TASK_MALFORMED', error instanceof Error ? error.message : String(error));
  const failure = error.failure;
  switch (failure.kind) {
    case 'expired':
      return new ParError('PAR_ERR_TASK_EXPIRED');
    case 'signature':
      return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID');
    case 'no-key':
      return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'signed with a key this runner does not trust');
    case 'ambiguous-key':
      return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'ambiguous key');
    case 'alg':
      return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'algorithm not allowed');
    case 'malformed':
      return new ParError('PAR_ERR_TASK_MALFORMED', failure.reason);
    case 'claim': {
      // Signed for another runner (`aud` another runner's id); a missing or non-string `aud` is malformed.
      const aud = failure.payload['aud'];
      if (failure.claim === 'aud' && failure.reason === 'check_failed' && typeof aud === 'string')
        return new ParError('PAR_ERR_TASK_WRONG_RUNNER', `signed for ${aud}`);
      // A JWS the control-plane key signed for another purpose: not a task, whatever it says.
      if (failure.claim === 'typ') return new ParError('PAR_ERR_TASK_SIGNATURE_INVALID', 'not a task (typ header)');
      return new ParError('PAR_ERR_TASK_MALFORMED', `claim ${failure.claim}: ${failure.reason}`);
    }
  }
}

/** The verifier keys an identity file pins: its control-plane keys and their retirement times. */
export function verifierKeys(identity: {
  controlPlaneKeys: VerifierKeys['keys'];
  controlPlaneKeyRetirements?: KeyRetirements | undefined;
}): VerifierKeys {
  return { keys: identity.controlPlaneKeys, retirements: identity.controlPlaneKeyRetirements ?? {} };
}
