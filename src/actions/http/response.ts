/** Reading a response body under a byte cap, and parsing it the way the vendor does. */
import type { Dispatcher } from 'undici';
import { ParError } from '../../errors/par-error.js';
import { responseTooLarge } from './classify.js';
import type { ResponseParsing } from './inputs.js';

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

/**
 * `auto`: JSON when the content type says so (text if it does not actually parse), else text.
 * `json`: must parse (an empty body is null). `text`: always the text.
 */
export function parseBody(raw: Buffer, contentType: string | string[] | undefined, mode: ResponseParsing = 'auto', target = ''): unknown {
  const text = raw.toString('utf8');
  if (mode === 'text') return text;
  if (mode === 'json') {
    if (text.trim().length === 0) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ParError('PAR_ERR_HTTP_RESPONSE_NOT_JSON', target);
    }
  }
  if (text.length > 0 && isJsonContentType(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
