/**
 * Input schemas of the `com.datadoghq.http` bundle. Headers and URL parameters are accepted in
 * the vendor's shape (`[{key, value: string | string[]}]`) and as a plain object, and normalised
 * to a list of pairs, so the request code sees one shape.
 */
import { z } from 'zod';

export const HTTP_VERBS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpVerb = (typeof HTTP_VERBS)[number];

/** RFC 9110 token: what undici accepts as a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** No CR/LF/NUL, so a value cannot smuggle another header. */
const HEADER_VALUE = /^[^\r\n\0]*$/;

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const values = z.union([scalar, z.array(scalar)]).transform((v) => (Array.isArray(v) ? v : [v]));

const keyValues = z
  .union([z.array(z.object({ key: z.string().min(1), value: values })), z.record(z.string().min(1), values)])
  .transform((input): Array<[string, string]> => {
    const entries = Array.isArray(input) ? input.map((e) => [e.key, e.value] as const) : Object.entries(input);
    return entries.flatMap(([key, vs]) => vs.map((v): [string, string] => [key, v]));
  });

export const headersSchema = keyValues.refine(
  (pairs) => pairs.every(([k, v]) => HEADER_NAME.test(k) && HEADER_VALUE.test(v)),
  'header names must be tokens and values must not contain line breaks',
);
export const urlParamsSchema = keyValues;

export const httpUrlSchema = z.string().refine((value) => {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

/** An inclusive range of status codes. */
export interface StatusRange {
  readonly from: number;
  readonly to: number;
}

/** Go's strconv.Atoi, which the vendor parses entries with: an optional sign, then digits. */
const GO_INT = /^[+-]?\d+$/;
const STATUS_CLASS = /^([1-9])xx$/i;

/**
 * One `errorOnStatus` entry, as the vendor reads it: `"404"`, `"+404"`, a range `"500-599"`
 * (exactly one `-`, start <= end). Also accepted here: a number, and a class `"5xx"`.
 */
function parseStatusEntry(entry: string | number, ctx: z.RefinementCtx): StatusRange | undefined {
  if (typeof entry === 'number') return { from: entry, to: entry };
  const text = entry.trim();
  const cls = STATUS_CLASS.exec(text);
  if (cls?.[1]) return { from: Number(cls[1]) * 100, to: Number(cls[1]) * 100 + 99 };
  if (text.includes('-')) {
    const bounds = text.split('-');
    const [a, b] = bounds;
    if (bounds.length === 2 && a !== undefined && b !== undefined && GO_INT.test(a) && GO_INT.test(b) && Number(a) <= Number(b)) {
      return { from: Number(a), to: Number(b) };
    }
  } else if (GO_INT.test(text)) {
    return { from: Number(text), to: Number(text) };
  }
  ctx.addIssue({ code: 'custom', message: `"${entry}" is not a status code, a range like 500-599, or a class like 5xx` });
  return undefined;
}

/**
 * `errorOnStatus`: statuses that fail the action besides 400-999 (which always fail, as in the
 * vendor runner), e.g. a 3xx or 2xx the workflow must treat as an error.
 */
export const errorOnStatusSchema = z
  .union([z.string(), z.array(z.union([z.string(), z.number().int().min(0).max(999)]))])
  .transform((input, ctx): StatusRange[] => {
    const entries = typeof input === 'string' ? input.split(',').filter((s) => s.trim().length > 0) : input;
    return entries.map((e) => parseStatusEntry(e, ctx)).filter((r): r is StatusRange => r !== undefined);
  });

/** An absolute http(s) URL, or a path (`/v1/items?x=1`) appended to the connection's baseUrl. */
export const requestUrlSchema = z
  .string()
  .refine(
    (value) => (value.startsWith('/') ? /^\/(?![/\\])[^\s]*$/.test(value) : httpUrlSchema.safeParse(value).success),
    'must be an absolute http(s) URL, or a path starting with / when the connection has a baseUrl',
  );

const timeoutSchema = z.number().int().positive().max(3_600_000);

/** How to turn the response body into the output's `body`. */
export const RESPONSE_PARSING = ['auto', 'json', 'text'] as const;
export type ResponseParsing = (typeof RESPONSE_PARSING)[number];

/** The vendor's `responseEncoding` values (util.Encoding): how the body bytes become the output string. */
export const RESPONSE_ENCODINGS = [
  'ascii',
  'utf8',
  'utf-8',
  'utf16le',
  'ucs2',
  'ucs-2',
  'base64',
  'base64url',
  'latin1',
  'binary',
  'hex',
] as const;
export type ResponseEncoding = (typeof RESPONSE_ENCODINGS)[number];

export const httpRequestInputSchema = z
  .object({
    verb: z
      .string()
      .transform((v) => v.toUpperCase())
      .pipe(z.enum(HTTP_VERBS))
      .default('GET'),
    url: requestUrlSchema,
    requestHeaders: headersSchema.optional(),
    urlParams: urlParamsSchema.optional(),
    /** A string is sent as is; anything else is sent as JSON. */
    body: z.unknown().optional(),
    /** Form fields: urlencoded, or multipart when the content-type header says multipart/form-data. */
    formData: urlParamsSchema.optional(),
    /**
     * Follow 3xx redirects (each hop checked against the runner's network policy). On by
     * default, as the vendor's client follows them; `false` makes a 3xx fail the action.
     */
    followRedirect: z.boolean().optional(),
    /** Skip TLS certificate verification (expired, self-signed, unknown CA, other name). */
    allowExpiredCertificate: z.boolean().default(false),
    /** Milliseconds for the whole exchange; the task's own deadline applies in any case. */
    timeout: timeoutSchema.optional(),
    errorOnStatus: errorOnStatusSchema.optional(),
    responseParsing: z.enum(RESPONSE_PARSING).default('auto'),
    /** Absent: inferred from the content type as the vendor does (binary types base64, latin1 charsets latin1, else UTF-8). */
    responseEncoding: z.enum(RESPONSE_ENCODINGS).optional(),
  })
  .refine((i) => i.body === undefined || i.body === null || i.formData === undefined, {
    error: 'give either body or formData, not both',
    path: ['formData'],
  });
export type HttpRequestInput = z.output<typeof httpRequestInputSchema>;

export const httpTestConnectionInputSchema = z.object({
  /** Defaults to the connection's baseUrl. */
  url: requestUrlSchema.optional(),
  requestHeaders: headersSchema.optional(),
  allowExpiredCertificate: z.boolean().default(false),
  timeout: timeoutSchema.optional(),
});

/** Groups header pairs by name, as undici takes them (repeated names become arrays). */
export function toHeaderRecord(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const [key, value] of pairs) {
    const existing = record[key];
    record[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return record;
}

export function hasHeader(pairs: ReadonlyArray<readonly [string, string]>, name: string): boolean {
  const lower = name.toLowerCase();
  return pairs.some(([k]) => k.toLowerCase() === lower);
}

export function buildUrl(base: string | URL, params: ReadonlyArray<readonly [string, string]> | undefined): URL {
  const url = new URL(base);
  for (const [k, v] of params ?? []) url.searchParams.append(k, v);
  return url;
}
