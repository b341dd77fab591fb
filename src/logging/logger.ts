/**
 * One root pino logger per process; components and tasks get child loggers
 * (`logger.child({ component: 'poll-loop' })`, `logger.child({ taskId })`). Secrets are redacted
 * here, centrally, by path; code must still never put a secret value in a message string.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS: readonly string[] = [
  'apiKey', 'appKey', 'privateKey', 'password', 'token', 'tokenValue', 'leaseToken', 'authorization',
  'credentials', 'secret',
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
}

export function createRootLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { process: settings.process, pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!settings.file) return pino(options);
  const streams = pino.multistream([
    { stream: pino.destination({ dest: 1, sync: false }), level: settings.level as pino.Level },
    { stream: pino.destination({ dest: settings.file, mkdir: true, sync: false }), level: settings.level as pino.Level },
  ]);
  return pino(options, streams);
}
