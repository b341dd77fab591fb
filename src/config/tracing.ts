/**
 * Tracing settings of every long-running process, read from the standard OpenTelemetry variables
 * (no `PAR_*` names: collectors, operators and Helm charts already speak these). Tracing is OFF
 * unless asked for: `OTEL_TRACES_EXPORTER=otlp|console`, or an OTLP endpoint with no exporter
 * named. `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` turn it off whatever else is set.
 */
import { z } from 'zod';
import { ParError } from '../errors/par-error.js';
import { collect, parseSettings, splitList, type Env } from './env-source.js';

const sources = {
  sdkDisabled: ['OTEL_SDK_DISABLED'],
  exporters: ['OTEL_TRACES_EXPORTER'],
  endpoint: ['OTEL_EXPORTER_OTLP_ENDPOINT'],
  tracesEndpoint: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
  headers: ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'],
  protocol: ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
  serviceName: ['OTEL_SERVICE_NAME'],
} as const;

export const TRACES_EXPORTERS = ['otlp', 'console', 'none'] as const;
export type TracesExporter = Exclude<(typeof TRACES_EXPORTERS)[number], 'none'>;

/** The default service names (`service.name`) of the three processes. */
export const DEFAULT_SERVICE_NAMES = {
  controlPlane: 'par-control-plane',
  runner: 'par-runner',
  worker: 'par-worker',
} as const;

const httpUrl = z.url().refine((v) => /^https?:\/\//i.test(v), 'must be an http(s) URL');

const tracingSettingsSchema = z.object({
  sdkDisabled: z
    .enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False'])
    .transform((v) => v.toLowerCase() === 'true')
    .default(false)
    .describe('OTEL_SDK_DISABLED: true turns tracing off whatever else is set.'),
  exporters: z
    .array(z.enum(TRACES_EXPORTERS, { error: `must be a comma-separated list of ${TRACES_EXPORTERS.join(', ')}` }))
    .optional()
    .describe('OTEL_TRACES_EXPORTER: otlp, console or none (a comma-separated list); unset = otlp when an OTLP endpoint is set, else off.'),
  endpoint: httpUrl
    .optional()
    .describe('OTEL_EXPORTER_OTLP_ENDPOINT: base URL of the OTLP/HTTP collector; traces go to <endpoint>/v1/traces.'),
  tracesEndpoint: httpUrl
    .optional()
    .describe('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: full URL traces are posted to (wins over OTEL_EXPORTER_OTLP_ENDPOINT).'),
  headers: z
    .record(z.string(), z.string())
    .optional()
    .describe('OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS: key=value pairs sent with each export (never logged).'),
  protocol: z
    .enum(['http/json', 'http/protobuf'], {
      error: 'must be http/json (http/protobuf is accepted and sent as JSON to the same OTLP/HTTP endpoint; grpc is not supported)',
    })
    .optional()
    .describe('OTEL_EXPORTER_OTLP_PROTOCOL: OTLP over HTTP only; spans are sent as OTLP/JSON.'),
  serviceName: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('OTEL_SERVICE_NAME: service.name of this process (default par-control-plane / par-runner / par-worker).'),
});

export type TracingConfig =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      readonly serviceName: string;
      readonly exporters: readonly TracesExporter[];
      /** Where OTLP/HTTP exports go (set when `exporters` holds `otlp`). */
      readonly otlpUrl?: string;
      readonly headers: Readonly<Record<string, string>>;
    };

/** The collector's default address when `otlp` is asked for without an endpoint (the OTLP spec's). */
export const DEFAULT_OTLP_TRACES_URL = 'http://localhost:4318/v1/traces';

/** `k1=v1,k2=v2` (URL-decoded, as the OTel spec says). The values are never quoted in the error. */
function parseHeaders(value: string, name: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of splitList(value) ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ParError('PAR_ERR_CONFIG_INVALID', `${name}: must be key=value pairs separated by commas`);
    try {
      headers[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ParError('PAR_ERR_CONFIG_INVALID', `${name}: holds a malformed %-escape`);
    }
  }
  return headers;
}

export function loadTracingConfig(env: Env, defaultServiceName: string): TracingConfig {
  const { raw, from } = collect(env, sources);
  const shaped: Record<string, unknown> = { ...raw };
  if (raw.exporters !== undefined) shaped['exporters'] = splitList(raw.exporters);
  if (raw.headers !== undefined) shaped['headers'] = parseHeaders(raw.headers, from.headers ?? sources.headers[0]);
  const settings = parseSettings(tracingSettingsSchema, shaped, sources, from);
  if (settings.sdkDisabled) return { enabled: false };
  const named = settings.exporters;
  const exporters: TracesExporter[] =
    named === undefined
      ? settings.endpoint !== undefined || settings.tracesEndpoint !== undefined
        ? ['otlp']
        : []
      : [...new Set(named.filter((e): e is TracesExporter => e !== 'none'))];
  if (exporters.length === 0) return { enabled: false };
  const otlpUrl = exporters.includes('otlp')
    ? (settings.tracesEndpoint ??
      (settings.endpoint !== undefined ? `${settings.endpoint.replace(/\/+$/, '')}/v1/traces` : DEFAULT_OTLP_TRACES_URL))
    : undefined;
  return Object.freeze({
    enabled: true,
    serviceName: settings.serviceName ?? defaultServiceName,
    exporters,
    ...(otlpUrl !== undefined ? { otlpUrl } : {}),
    headers: settings.headers ?? {},
  });
}
