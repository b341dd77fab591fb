/**
 * A fake OpenTelemetry collector: the OTLP/HTTP trace receiver (`POST /v1/traces`) with the JSON
 * encoding, as the OTLP specification defines it (ExportTraceServiceRequest as protobuf JSON:
 * `resourceSpans[].scopeSpans[].spans[]`, trace and span ids as hex strings, 64-bit integers as
 * strings, attribute values as AnyValue objects), answering `200 {}` (an ExportTraceServiceResponse
 * with no partial success). gzip request bodies are accepted, as collectors do. Anything else:
 * 404 (other paths), 405 (other methods), 415 (protobuf or other media types: not supported by
 * this fake), 400 (a body that is not an ExportTraceServiceRequest).
 *
 * It keeps every span it received, flattened with its resource's `service.name`, and every raw
 * body, so a test can also check what never left a process.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
interface KeyValue {
  key: string;
  value?: AnyValue;
}

export interface ReceivedSpan {
  serviceName: string | undefined;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

export interface OtlpCollector {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (traces go to `${url}/v1/traces`). */
  url: string;
  spans: ReceivedSpan[];
  /** Every request body as received (decompressed), to check what a process never sent. */
  rawBodies: string[];
  /** Each accepted export: its request headers and the spans it carried. */
  exports: Array<{ headers: IncomingHttpHeaders; spans: ReceivedSpan[] }>;
  /** Requests to /v1/traces, valid or not. */
  requestCount(): number;
  /** Resolves once `predicate` holds for the received spans (checked on every export). */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

function decodeValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

function decodeAttributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, decodeValue(kv.value)]));
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** Flattens an ExportTraceServiceRequest (JSON); throws on anything that is not one. */
export function decodeExportRequest(body: unknown): ReceivedSpan[] {
  const request = body as { resourceSpans?: unknown };
  if (typeof body !== 'object' || body === null || !Array.isArray(request.resourceSpans))
    throw new Error('not an ExportTraceServiceRequest: no resourceSpans');
  const out: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans as Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
  }>) {
    const resource = decodeAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const traceId = String((s['traceId'] as string | number | undefined) ?? '');
        const spanId = String((s['spanId'] as string | number | undefined) ?? '');
        const parentSpanId = String((s['parentSpanId'] as string | number | undefined) ?? '');
        if (!HEX32.test(traceId) || !HEX16.test(spanId) || (parentSpanId !== '' && !HEX16.test(parentSpanId))) {
          throw new Error(`span ${String(s['name'])}: ids are not hex (${traceId}/${spanId}/${parentSpanId})`);
        }
        out.push({
          serviceName: typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined,
          traceId,
          spanId,
          parentSpanId,
          name: String(s['name']),
          kind: Number(s['kind'] ?? 0),
          startTimeUnixNano: BigInt(String((s['startTimeUnixNano'] as string | number | undefined) ?? '0')),
          endTimeUnixNano: BigInt(String((s['endTimeUnixNano'] as string | number | undefined) ?? '0')),
          attributes: decodeAttributes(s['attributes'] as KeyValue[] | undefined),
          events: ((s['events'] as Array<{ name: string; attributes?: KeyValue[] }> | undefined) ?? []).map((e) => ({
            name: e.name,
            attributes: decodeAttributes(e.attributes),
          })),
          statusCode: (s['status'] as { code?: number } | undefined)?.code ?? 0,
        });
      }
    }
  }
  return out;
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: ReceivedSpan[] = [];
  const rawBodies: string[] = [];
  const exports: Array<{ headers: IncomingHttpHeaders; spans: ReceivedSpan[] }> = [];
  let requests = 0;
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/v1/traces') {
        reply(404, { code: 5, message: 'not found' });
        return;
      }
      requests++;
      if (req.method !== 'POST') {
        reply(405, { code: 12, message: 'method not allowed' });
        return;
      }
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        reply(415, { code: 3, message: 'this fake collector reads OTLP/JSON only' });
        return;
      }
      let text: string;
      try {
        const raw = Buffer.concat(chunks);
        text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        rawBodies.push(text);
        const received = decodeExportRequest(JSON.parse(text));
        spans.push(...received);
        exports.push({ headers: req.headers, spans: received });
      } catch (error) {
        reply(400, { code: 3, message: error instanceof Error ? error.message : String(error) });
        return;
      }
      reply(200, {});
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rawBodies,
    exports,
    requestCount: () => requests,
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `the collector did not receive the expected spans within ${timeoutMs} ms; got: ${spans.map((s) => `${s.serviceName}/${s.name}`).join(', ')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
