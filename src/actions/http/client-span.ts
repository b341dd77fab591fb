/**
 * The HTTP client span of one request hop (tracing, issue 11), with OpenTelemetry's stable HTTP
 * attributes: method, server address and port, scheme, response status. Never the URL's path or
 * query, the headers or the bodies: they carry credentials. A no-op when tracing is off.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { ATTR, SEMCONV } from '../../tracing/attributes.js';
import { parTracer } from '../../tracing/trace-context.js';

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

export function startClientSpan(method: string, url: URL, hop: number, parent: Context | undefined): Span {
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : Number(url.port);
  return parTracer().startSpan(
    method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [SEMCONV.httpRequestMethod]: method,
        [SEMCONV.serverAddress]: host,
        ...(port !== undefined ? { [SEMCONV.serverPort]: port } : {}),
        [SEMCONV.urlScheme]: url.protocol.replace(/:$/, ''),
        ...(hop > 0 ? { [ATTR.redirectHop]: hop } : {}),
      },
    },
    parent ?? ROOT_CONTEXT,
  );
}

/** Ends the span with the response status (4xx and 5xx are errors for a client, as semconv says). */
export function endClientSpan(span: Span, statusCode: number): void {
  span.setAttribute(SEMCONV.httpResponseStatusCode, statusCode);
  if (statusCode >= 400) {
    span.setAttribute(SEMCONV.errorType, String(statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** Ends the span of a request that got no response, naming the failure by its error code only. */
export function failClientSpan(span: Span, code: string): void {
  span.setAttribute(SEMCONV.errorType, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  span.end();
}
