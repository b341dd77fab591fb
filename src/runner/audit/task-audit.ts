/**
 * What the runner's intake and result publisher write to the audit log: one `verdict` entry per
 * delivery (accepted, or refused with its code) and one `outcome` entry per task whose publication
 * ended (recorded, duplicate, dropped or refused for good; retries are not entries).
 *
 * Only identifiers, codes and times are taken from a task: id, action, org, connection id,
 * `submittedBy`, the signing key's `kid`. Never its inputs, its connection's credential path or
 * settings, its output or error message. For a refused task whose signature did not verify the
 * fields are what the token claimed (`claimsVerified: false`), cut to 200 characters.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Delivery } from '../../contracts/runner-api.js';
import type { TaskOutcome } from '../../contracts/task.js';
import type { ParError } from '../../errors/par-error.js';
import type { AuditLog } from './audit-log.js';
import type { OutcomeRecord, VerdictRecord } from './entry.js';

/** The intake's hook: awaited before accepted tasks are queued (fail closed). */
export interface IntakeAudit {
  recordVerdicts(
    verdicts: ReadonlyArray<{ delivery: Delivery; error?: ParError }>,
    times: { receivedAt: number; verdictAt: number },
  ): Promise<void>;
}

/** The result publisher's hook: called once a publication has ended. */
export interface OutcomeAudit {
  recordOutcome(
    taskId: string,
    outcome: TaskOutcome,
    publication: { published: OutcomeRecord['published']; publishCode?: string; publishedAt: number },
  ): Promise<void>;
}

/** Refusals decided after the signature had verified: the claims are the control plane's. */
const VERIFIED_REFUSALS: ReadonlySet<string> = new Set([
  'PAR_ERR_ACTION_NOT_ALLOWLISTED',
  'PAR_ERR_TASK_WRONG_RUNNER',
  'PAR_ERR_TASK_EXPIRED',
]);
const MAX_FIELD = 200;

export class TaskAudit implements IntakeAudit, OutcomeAudit {
  constructor(private readonly log: AuditLog) {}

  recordVerdicts(
    verdicts: ReadonlyArray<{ delivery: Delivery; error?: ParError }>,
    times: { receivedAt: number; verdictAt: number },
  ): Promise<void> {
    return this.log.append(verdicts.map(({ delivery, error }) => verdictRecord(delivery, error, times)));
  }

  recordOutcome(
    taskId: string,
    outcome: TaskOutcome,
    publication: { published: OutcomeRecord['published']; publishCode?: string; publishedAt: number },
  ): Promise<void> {
    const record: OutcomeRecord = {
      type: 'outcome',
      taskId,
      outcome: outcome.kind,
      ...(outcome.error ? { code: outcome.error.code } : {}),
      attempts: outcome.attempts,
      durationMs: Math.round(outcome.durationMs),
      published: publication.published,
      ...(publication.publishCode ? { publishCode: publication.publishCode } : {}),
      publishedAt: publication.publishedAt,
    };
    return this.log.append([record]);
  }
}

export function verdictRecord(
  delivery: Delivery,
  error: ParError | undefined,
  times: { receivedAt: number; verdictAt: number },
): VerdictRecord {
  const claims = decodeClaims(delivery.signedTask);
  return {
    type: 'verdict',
    taskId: cut(delivery.taskId) ?? '',
    attempt: Number.isSafeInteger(delivery.attempt) ? delivery.attempt : 0,
    verdict: error ? 'refused' : 'accepted',
    ...(error ? { code: error.code } : {}),
    claimsVerified: error === undefined || VERIFIED_REFUSALS.has(error.code),
    ...claims,
    receivedAt: times.receivedAt,
    verdictAt: times.verdictAt,
  };
}

type ClaimFields = Pick<VerdictRecord, 'action' | 'orgId' | 'connectionId' | 'submittedBy' | 'keyId'>;

function decodeClaims(signedTask: string): ClaimFields {
  const fields: ClaimFields = {};
  try {
    const header = decodeProtectedHeader(signedTask);
    const kid = cut(header.kid);
    if (kid) fields.keyId = kid;
  } catch {
    // not a JWS: nothing to say about its key
  }
  try {
    const payload = decodeJwt(signedTask);
    const action = cut(payload['action']);
    const org = cut(payload['org']);
    const submittedBy = cut(payload['submittedBy']);
    const connection = payload['connection'];
    const connectionId =
      typeof connection === 'object' && connection !== null ? cut((connection as Record<string, unknown>)['id']) : undefined;
    if (action) fields.action = action;
    if (org) fields.orgId = org;
    if (connectionId) fields.connectionId = connectionId;
    if (submittedBy) fields.submittedBy = submittedBy;
  } catch {
    // unreadable claims: the verdict's code says why
  }
  return fields;
}

function cut(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, MAX_FIELD) : undefined;
}
