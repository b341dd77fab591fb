/**
 * Starting and stopping tracing in a process. When the config says off (the default) this module
 * loads nothing: the SDK (`./sdk.ts` and the @opentelemetry packages behind it) is imported only
 * when tracing is on, so a process that does not trace does not pay its memory. Spans made with
 * `@opentelemetry/api` are then no-ops.
 */
import type { TracingConfig } from '../config/tracing.js';
import type { Logger } from '../logging/logger.js';

/** How long exit waits for the last spans to reach the exporter (the process exits anyway after). */
export const TRACING_FLUSH_TIMEOUT_MS = 2_000;

export interface Tracing {
  readonly enabled: boolean;
  /** Flushes and stops the exporter; bounded by TRACING_FLUSH_TIMEOUT_MS, never throws. */
  shutdown(): Promise<void>;
}

export interface SdkHandle {
  shutdown(): Promise<void>;
}

export type SdkLoader = () => Promise<{ startSdk: (config: Extract<TracingConfig, { enabled: true }>, logger: Logger) => SdkHandle }>;

/** The collector URL as logged: no userinfo, no query. */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

const OFF: Tracing = { enabled: false, shutdown: () => Promise.resolve() };

export async function startTracing(config: TracingConfig, logger: Logger, load: SdkLoader = () => import('./sdk.js')): Promise<Tracing> {
  if (!config.enabled) return OFF;
  const { startSdk } = await load();
  const sdk = startSdk(config, logger);
  logger.info(
    {
      serviceName: config.serviceName,
      exporters: config.exporters,
      ...(config.otlpUrl ? { otlpUrl: withoutCredentials(config.otlpUrl) } : {}),
    },
    'tracing on',
  );
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown() {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), TRACING_FLUSH_TIMEOUT_MS);
        });
        try {
          const result = await Promise.race([sdk.shutdown().then(() => 'done' as const), timedOut]);
          if (result === 'timeout')
            logger.warn({ timeoutMs: TRACING_FLUSH_TIMEOUT_MS }, 'tracing: spans not flushed in time; exiting without them');
        } catch (error) {
          logger.warn({ err: error }, 'tracing: flushing the last spans failed');
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}
