/**
 * The audit trail as the runner process uses it: the log opened with the identity key, the
 * task hooks for intake and the result publisher and a readiness check. Its `/metrics` gauges
 * (par_audit_*) are defined with the runner's other metrics in ../metrics.ts, from `log.stats`.
 */
import type { Logger } from '../../logging/logger.js';
import type { ReadinessCheck } from '../admin-server.js';
import { AuditLog } from './audit-log.js';
import { checkpointKeyFromJwk, type Ed25519Jwk } from './entry.js';
import { TaskAudit } from './task-audit.js';

export interface RunnerAuditOptions {
  dir: string;
  runnerId: string;
  /** The identity's private JWK (config.yaml `privateKey`). */
  privateKey: Ed25519Jwk;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  maxFileBytes: number;
  logger: Logger;
}

export interface RunnerAudit {
  log: AuditLog;
  tasks: TaskAudit;
  readiness: () => ReadinessCheck;
  /** Call when the identity key is rotated: checkpoints are signed with the new key from then on, linked to the old one. */
  rotateKey(privateKey: Ed25519Jwk): Promise<void>;
}

export async function openRunnerAudit(options: RunnerAuditOptions): Promise<RunnerAudit> {
  const key = checkpointKeyFromJwk(options.privateKey);
  const log = await AuditLog.open({
    dir: options.dir,
    runnerId: options.runnerId,
    signingKey: () => key,
    checkpointEvery: options.checkpointEvery,
    checkpointIntervalMs: options.checkpointIntervalMs,
    maxFileBytes: options.maxFileBytes,
    logger: options.logger,
  });
  options.logger.info({ dir: options.dir, chainLength: log.stats.chainLength, file: log.stats.file }, 'audit log open');
  return {
    log,
    tasks: new TaskAudit(log),
    readiness: () =>
      log.stats.broken ? { ok: false, detail: 'audit log unwritable' } : { ok: true, detail: `${log.stats.chainLength} entries` },
    rotateKey: (privateKey) => log.handOverKey(checkpointKeyFromJwk(privateKey)),
  };
}
