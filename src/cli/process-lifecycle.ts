/**
 * Signals a long-running `par` process handles: SIGINT and SIGTERM. The first asks for a clean
 * stop (close queues, finish running jobs, disconnect); a second one exits at once.
 */
import type { Logger } from '../logging/logger.js';

export const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function stopOnSignal(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  for (const signal of HANDLED_SIGNALS) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          process.exit(1);
        },
      );
    });
  }
}

/** Prints a start-up failure in one clear line (code and message) and exits non-zero. */
export function failStartup(error: unknown): never {
  const e = error as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  process.stderr.write(`par: ${code}${typeof e?.message === 'string' ? e.message : String(error)}\n`);
  process.exit(1);
}
