/** Reading a response body under a byte cap, and parsing it the way the vendor does. */
import type { Dispatcher } from 'undici';
import { ParError } from '../../errors/par-error.js';
import { responseTooLarge } from './classify.js';
import type { ResponseEncoding, ResponseParsing } from './inputs.js';

export type ResponseHeaders = Record<string, string | string[]>;

export function flattenHeaders(headers: Dispatcher.ResponseData['headers']): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Drops a body we will not read. undici's BodyReadable emits 'error' (UND_ERR_ABORTED) when
 * destroyed; without a listener that would be an uncaught exception in the worker.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Reads the whole body, destroying the stream as soon as it passes `capBytes`. */
export async function readCapped(body: Dispatcher.ResponseData['body'], capBytes: number, target: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > capBytes) {
      discardBody(body);
      throw responseTooLarge(capBytes, target);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function isJsonContentType(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  if (!value) return false;
  const mime = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return mime === 'application/json' || mime.endsWith('+json');
}

/** The charset aliases the vendor maps to `latin1` (util.CharsetAliases). */
const LATIN1_CHARSETS: ReadonlySet<string> = new Set(['iso-8859-1', 'iso88591', 'iso8859-1']);
/** Substrings of a MIME type that make the vendor read the body as binary (base64). */
const BINARY_MIME_PARTS = ['video', 'image', 'audio', 'font', 'model'];

function mimeOf(contentType: string | string[] | undefined): { mime: string; charset: string | undefined } {
  const value = (Array.isArray(contentType) ? contentType[0] : contentType) ?? '';
  const [type, ...params] = value.split(';');
  const charset = params
    .map((p) => p.trim().split('='))
    .find(([k]) => k?.trim().toLowerCase() === 'charset')?.[1]
    ?.trim()
    .replace(/^"|"$/g, '');
  return { mime: type?.trim().toLowerCase() ?? '', charset };
}

/**
 * The encoding used when the task gives no `responseEncoding`, as the vendor infers it
 * (util.inferEncoding): a body read as JSON is UTF-8 unless its charset is a latin1 alias;
 * otherwise a binary type (image, audio, video, font, model, application/octet-stream) is
 * base64, a latin1 charset is latin1, anything else UTF-8. Unlike the vendor, a body without a
 * content type is not sniffed: it is UTF-8.
 */
export function inferEncoding(contentType: string | string[] | undefined, readsAsJson: boolean): ResponseEncoding {
  const { mime, charset } = mimeOf(contentType);
  const latin1 = charset !== undefined && LATIN1_CHARSETS.has(charset.toLowerCase());
  if (readsAsJson) return latin1 ? 'latin1' : 'utf-8';
  if (mime === '') return 'utf-8';
  if (BINARY_MIME_PARTS.some((part) => mime.includes(part)) || mime === 'application/octet-stream') return 'base64';
  return latin1 ? 'latin1' : 'utf-8';
}

/** Bytes to string the way the vendor's encodeToString does it, encoding by encoding. */
export function decodeBody(raw: Buffer, encoding: ResponseEncoding): string {
  switch (encoding) {
    case 'ascii':
    case 'utf8':
    case 'utf-8':
    case 'binary': // Go's string(data): the bytes as UTF-8
      return raw.toString('utf8');
    case 'utf16le':
    case 'ucs2':
    case 'ucs-2':
      // An odd trailing byte is not a code unit: dropped.
      return raw.subarray(0, raw.length - (raw.length % 2)).toString('utf16le');
    case 'base64':
      return raw.toString('base64');
    case 'base64url': // Go's base64.URLEncoding keeps the '=' padding
      return raw.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    case 'latin1':
      return raw.toString('latin1');
    case 'hex':
      return raw.toString('hex');
  }
}

/**
 * `auto`: JSON when the content type says so (text if it does not actually parse), else text.
 * `json`: must parse (an empty body is null). `text`: always the text. The bytes become text with
 * `encoding` (the task's `responseEncoding`), or the encoding the vendor would infer.
 */
export function parseBody(
  raw: Buffer,
  contentType: string | string[] | undefined,
  mode: ResponseParsing = 'auto',
  target = '',
  encoding?: ResponseEncoding,
): unknown {
  const readsAsJson = mode === 'json' || (mode === 'auto' && isJsonContentType(contentType));
  const text = decodeBody(raw, encoding ?? inferEncoding(contentType, readsAsJson));
  if (mode === 'text') return text;
  if (mode === 'json') {
    if (text.trim().length === 0) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ParError('PAR_ERR_HTTP_RESPONSE_NOT_JSON', target);
    }
  }
  if (text.length > 0 && readsAsJson) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
