/**
 * One root pino logger per process; components and tasks get child loggers
 * (`logger.child({ component: 'poll-loop' })`, `logger.child({ taskId })`). Secrets are redacted
 * here, centrally, by path; code must still never put a secret value in a message string.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACT_PATHS: readonly string[] = [
  'apiKey',
  'appKey',
  'privateKey',
  'password',
  'token',
  'tokenValue',
  'leaseToken',
  'authorization',
  'credentials',
  'secret',
  'enrollmentToken',
  'runnerIdentity',
  '*.enrollmentToken',
  '*.runnerIdentity',
  '*.apiKey',
  '*.appKey',
  '*.privateKey',
  '*.password',
  '*.token',
  '*.tokenValue',
  '*.leaseToken',
  '*.authorization',
  '*.credentials',
  '*.secret',
  'headers.authorization',
  'headers["dd-api-key"]',
  'headers["dd-application-key"]',
  'req.headers.authorization',
  'req.headers["dd-api-key"]',
  'req.headers["dd-application-key"]',
];

/** `scheme://user:password@host` -> `scheme://[redacted]@host`: an error message may quote a URL with credentials. */
export function scrubUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, '$1[redacted]@');
}

const MAX_ERR_DEPTH = 6;

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubUrlCredentials(value);
  if (value === null || typeof value !== 'object' || depth > MAX_ERR_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    // ioredis puts the failed command on its errors: a script's ARGV carries lease tokens and signed tasks.
    if (key === 'command' && item !== null && typeof item === 'object' && 'args' in item) {
      out[key] = { name: (item as { name?: unknown }).name, args: '[redacted]' };
      continue;
    }
    out[key] = scrub(item, depth + 1);
  }
  return out;
}

/**
 * THE serializer of `{ err }`: pino's (type, message and stack with their causes, own
 * properties), then credentials in URLs scrubbed from every string and the arguments of a failed
 * Redis command dropped. Errors are always logged as `log.x({ err }, 'what failed')`.
 */
export function serializeError(err: unknown): unknown {
  const serialized: unknown = pino.stdSerializers.err(err as Error);
  return scrub(serialized, 0);
}

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
    serializers: { err: serializeError },
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
