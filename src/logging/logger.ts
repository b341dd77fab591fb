/**
 * One root pino logger per process; components and tasks get child loggers
 * (`logger.child({ component: 'poll-loop' })`, `logger.child({ taskId })`). Secrets are redacted
 * here, centrally, by path; code must still never put a secret value in a message string.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS: readonly string[] = [
  'apiKey', 'appKey', 'privateKey', 'password', 'token', 'tokenValue', 'leaseToken', 'authorization',
  'credentials', 'secret', 'enrollmentToken', 'runnerIdentity',
  '*.enrollmentToken', '*.runnerIdentity',
  '*.apiKey', '*.appKey', '*.privateKey', '*.password', '*.token', '*.tokenValue', '*.leaseToken', '*.authorization',
  '*.credentials', '*.secret',
  'headers.authorization', 'headers["dd-api-key"]', 'headers["dd-application-key"]',
  'req.headers.authorization', 'req.headers["dd-api-key"]', 'req.headers["dd-application-key"]',
];

export interface LoggerSettings {
  process: string;
  level: string;
  /** Also append JSON lines to this file. */
  file?: string | undefined;
  /** Log to stderr instead of stdout, when stdout carries the command's output (`par runner --enroll -f`). */
  stderr?: boolean;
}

export function createRootLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { process: settings.process, pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const fd = settings.stderr ? 2 : 1;
  if (!settings.file) return settings.stderr ? pino(options, pino.destination({ dest: 2, sync: true })) : pino(options);
  const streams = pino.multistream([
    { stream: pino.destination({ dest: fd, sync: false }), level: settings.level as pino.Level },
    { stream: pino.destination({ dest: settings.file, mkdir: true, sync: false }), level: settings.level as pino.Level },
  ]);
  return pino(options, streams);
}
