/**
 * The OpenTelemetry SDK of a process that traces: a tracer provider with this process's
 * `service.name`, a batch processor per exporter (OTLP/HTTP JSON, console), registered as the
 * global provider so `parTracer()` spans are recorded. Imported ONLY by start.ts's dynamic
 * import, when tracing is on: nothing else may import this file.
 *
 * No context manager is installed: our code hands parent contexts to spans explicitly (the task's
 * traceparent, the job's, the lifecycle state's), so no async-hooks machinery runs.
 */
import { DiagLogLevel, diag, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/tracing.js';
import type { Logger } from '../logging/logger.js';
import { PACKAGE_VERSION } from '../version.js';
import type { SdkHandle } from './start.js';

function exporterFor(kind: 'otlp' | 'console', config: Extract<TracingConfig, { enabled: true }>): SpanExporter {
  if (kind === 'console') return new ConsoleSpanExporter();
  return new OTLPTraceExporter({ url: config.otlpUrl, headers: { ...config.headers }, timeoutMillis: 5_000 });
}

export function startSdk(config: Extract<TracingConfig, { enabled: true }>, logger: Logger): SdkHandle {
  // The SDK reports export failures through `diag`: into our log, at warn, never the payload.
  diag.setLogger(
    {
      error: (message) => logger.warn({ otel: message }, 'tracing: exporter error'),
      warn: (message) => logger.warn({ otel: message }, 'tracing'),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: PACKAGE_VERSION }),
    spanProcessors: config.exporters.map((kind) => new BatchSpanProcessor(exporterFor(kind, config))),
  });
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown(); // flushes every processor, then shuts the exporters down
      trace.disable();
    },
  };
}
