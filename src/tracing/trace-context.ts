/**
 * W3C trace context (`traceparent`) as it travels between our processes: inside the signed task
 * (control plane -> runner) and in the `tasks` job data (runner -> worker). Only
 * `@opentelemetry/api` is used here (tiny, a no-op until a process starts the SDK), so every
 * process can import this whether tracing is on or off.
 *
 * A traceparent is only ever used as a span's parent: a malformed one is ignored (the span starts
 * a trace of its own), never an error, and nothing but tracing reads it.
 */
import { ROOT_CONTEXT, TraceFlags, isSpanContextValid, trace, type Context, type SpanContext, type Tracer } from '@opentelemetry/api';

/** Version 00 only: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The longest traceparent we accept anywhere (a v00 one is 55 characters). */
export const TRACEPARENT_MAX_LENGTH = 55;

/** The tracer of all our spans (the SDK's once a process started tracing; a no-op otherwise). */
export function parTracer(): Tracer {
  return trace.getTracer('private-action-runner');
}

/** The span context as a traceparent, or undefined when it is not a real one (tracing off). */
export function formatTraceparent(spanContext: SpanContext): string | undefined {
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** A remote parent context from a traceparent; ROOT_CONTEXT when absent or malformed. */
export function contextFromTraceparent(traceparent: unknown): Context {
  if (typeof traceparent !== 'string' || traceparent.length > TRACEPARENT_MAX_LENGTH) return ROOT_CONTEXT;
  const [, traceId, spanId, flags] = TRACEPARENT.exec(traceparent) ?? [];
  if (traceId === undefined || spanId === undefined || flags === undefined) return ROOT_CONTEXT;
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}
