/**
 * Runners created from the page or API, and their one-time enrollment tokens.
 *
 * Creating a runner stores its record without a public key (it appears as `never_connected`),
 * grants the creator `editor`, and issues a token. The runner later enrolls with the token: one
 * Lua script checks the token (known, unused, unexpired), marks it used and gives the record the
 * runner's public key, so two runners racing with one token cannot both enroll.
 *
 * Only the SHA-256 of a token is stored. A token's record outlives its expiry by
 * TOKEN_RECORD_GRACE_MS so a late or repeated use is answered "used" / "expired" rather than
 * "unknown"; after that it is simply unknown.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from '../../lib/redis-connection.js';
import type { JWK } from 'jose';
import { ParError } from '../../errors/par-error.js';
import type { KeySpace } from './key-space.js';
import { runLuaScript } from '../../lib/redis-scripts.js';
import { getRunner, newRunnerRecord, type RunnerRecord } from './runners.js';

const TOKEN_PREFIX = 'par_enroll_';
const TOKEN_RECORD_GRACE_MS = 7 * 86_400_000;

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** `par_enroll_` + 32 random bytes: recognisable in logs and leak scanners, unguessable. */
function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export interface NewPendingRunner {
  id: string;
  orgId: string;
  name: string;
  allowlist: readonly string[];
  modes: readonly string[];
  /** Grant key of the creator (`user:<id>`, `service_account:<id>`): becomes editor. */
  creatorPrincipal: string;
  now: number;
  tokenTtlMs: number;
}

/** Creates a runner that has not enrolled yet, with its creator as editor, and its first token. */
export async function createPendingRunner(
  redis: Redis,
  ks: KeySpace,
  r: NewPendingRunner,
): Promise<{ runner: RunnerRecord; token: IssuedToken }> {
  const runner: RunnerRecord = newRunnerRecord({ ...r, version: 'unknown' });
  const token = newToken();
  const hash = hashEnrollmentToken(token);
  const expiresAt = r.now + r.tokenTtlMs;
  const fields = [
    'id',
    runner.id,
    'urn',
    runner.urn,
    'name',
    runner.name,
    'orgId',
    runner.orgId,
    'allowlist',
    JSON.stringify(runner.allowlist),
    'modes',
    JSON.stringify(runner.modes),
    'version',
    runner.version,
    'createdAt',
    String(runner.createdAt),
    'createdBy',
    r.creatorPrincipal,
  ];
  const created = await runLuaScript(
    redis,
    'enrollment-token-create',
    [
      ks.orgRunners(r.orgId),
      ks.runner(r.id),
      ks.runnerGrants(r.id),
      ks.allRunners,
      ks.enrollmentToken(hash),
      ks.runnerEnrollmentToken(r.id),
    ],
    [r.name, r.id, r.creatorPrincipal, hash, r.orgId, r.now, expiresAt, expiresAt + TOKEN_RECORD_GRACE_MS, ...fields],
  );
  if (created !== 1) throw new ParError('PAR_ERR_ENROLL_NAME_TAKEN', r.name);
  return { runner, token: { token, expiresAt } };
}

/**
 * A new token for a runner that never enrolled. The previous token stops working at once (it
 * becomes unknown), so a leaked snippet can be neutralised by issuing a new one.
 */
export async function reissueEnrollmentToken(
  redis: Redis,
  ks: KeySpace,
  r: { runnerId: string; orgId: string; creatorPrincipal: string; now: number; tokenTtlMs: number },
): Promise<IssuedToken> {
  const token = newToken();
  const expiresAt = r.now + r.tokenTtlMs;
  const result = await runLuaScript(
    redis,
    'enrollment-token-reissue',
    [ks.runner(r.runnerId), ks.runnerEnrollmentToken(r.runnerId)],
    [
      ks.enrollmentToken(''),
      hashEnrollmentToken(token),
      r.runnerId,
      r.orgId,
      r.creatorPrincipal,
      r.now,
      expiresAt,
      expiresAt + TOKEN_RECORD_GRACE_MS,
    ],
  );
  if (result === 'missing') throw new ParError('PAR_ERR_NOT_FOUND', `runner ${r.runnerId}`);
  if (result === 'enrolled')
    throw new ParError(
      'PAR_ERR_ENROLL_ALREADY_ENROLLED',
      `runner ${r.runnerId} has already enrolled; delete it and create a new one to enroll another runner`,
    );
  return { token, expiresAt };
}

export interface TokenEnrollment {
  token: string;
  publicKey: JWK;
  version: string;
  /** The runner's own allowlist; empty keeps the one given when the runner was created. */
  allowlist: readonly string[];
  now: number;
}

/**
 * Enrolls the runner the token was issued for: the token is spent and the record gets the
 * runner's public key. Refusals: unknown -> PAR_ERR_ENROLL_TOKEN_INVALID, spent ->
 * PAR_ERR_ENROLL_TOKEN_USED, too old -> PAR_ERR_ENROLL_TOKEN_EXPIRED (all 401).
 */
export async function enrollWithToken(redis: Redis, ks: KeySpace, e: TokenEnrollment): Promise<RunnerRecord> {
  const reply = await runLuaScript(
    redis,
    'enrollment-token-consume',
    [ks.enrollmentToken(hashEnrollmentToken(e.token))],
    [e.now, ks.runner(''), JSON.stringify(e.publicKey), e.version, e.allowlist.length > 0 ? JSON.stringify(e.allowlist) : ''],
  );
  const [status, runnerId] = Array.isArray(reply) ? (reply as unknown[]).map(String) : [];
  switch (status) {
    case 'ok': {
      const runner = runnerId ? await getRunner(redis, ks, runnerId) : undefined;
      if (!runner) throw new ParError('PAR_ERR_ENROLL_TOKEN_INVALID', 'the runner of this token was deleted');
      return runner;
    }
    case 'used':
      throw new ParError(
        'PAR_ERR_ENROLL_TOKEN_USED',
        'this enrollment token was already used by a runner; create a new runner (or a new token for a runner that never enrolled)',
      );
    case 'expired':
      throw new ParError(
        'PAR_ERR_ENROLL_TOKEN_EXPIRED',
        'this enrollment token has expired; create a new token for the runner (POST /api/v1/runners/:id/enrollment-token)',
      );
    default:
      throw new ParError(
        'PAR_ERR_ENROLL_TOKEN_INVALID',
        'this enrollment token is not known: check it was copied whole, or create a new one',
      );
  }
}
