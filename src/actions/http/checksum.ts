/**
 * `com.datadoghq.http.getChecksumFromURL`: GET a URL and return the checksum of its body, as the
 * vendor's action does: `algorithm` md5 | sha1 | sha256 (default) | sha384 | sha512 (any case),
 * `digest` hex (default, and for any unknown value) | base64 | base64url (no padding) | binary
 * (the digest bytes as a string), output `{checksum}`. The body is hashed as it streams, so a
 * large artifact costs no memory; the task deadline bounds the download. Like every request of
 * this bundle it goes through the network policy and follows redirects hop by hop; unlike the
 * vendor (which hashes whatever came back) a 4xx/5xx answer fails the action, as
 * `http.request` does, rather than returning the checksum of an error page. No connection
 * credentials are sent (the vendor sends none either).
 */
import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { classifyHttpError, statusError } from './classify.js';
import { exchange } from './exchange.js';
import { httpUrlSchema } from './inputs.js';
import { DEFAULT_USER_AGENT, type HttpTransport } from './request.js';
import { discardBody, readCapped } from './response.js';

export const HTTP_CHECKSUM_FQN = 'com.datadoghq.http.getChecksumFromURL';

export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'] as const;

export const getChecksumInputSchema = z.object({
  url: httpUrlSchema,
  algorithm: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'sha256' : v.toLowerCase()))
    .pipe(z.enum(CHECKSUM_ALGORITHMS, { error: `unsupported hash algorithm: use one of ${CHECKSUM_ALGORITHMS.join(', ')}` })),
  /** hex, base64, base64url or binary; anything else is hex, as in the vendor runner. */
  digest: z.string().max(32).optional(),
  allowExpiredCertificate: z.boolean().default(false),
});

export interface GetChecksumOutput {
  checksum: string;
}

/** The digest as the vendor encodes it (encodeData). */
export function encodeDigest(digest: Buffer, encoding: string | undefined): string {
  switch (encoding) {
    case 'base64':
      return digest.toString('base64');
    case 'base64url':
      return digest.toString('base64url');
    case 'binary':
      return digest.toString('utf8');
    default:
      return digest.toString('hex');
  }
}

async function hashStream(body: AsyncIterable<Buffer>, hash: Hash): Promise<void> {
  for await (const chunk of body) hash.update(chunk);
}

export function httpChecksumAction(transport: HttpTransport): RegisteredAction {
  return defineAction({
    fqn: HTTP_CHECKSUM_FQN,
    inputSchema: getChecksumInputSchema,
    async run(inputs, ctx): Promise<GetChecksumOutput> {
      const url = new URL(inputs.url);
      const { response, target } = await exchange({
        method: 'GET',
        url,
        headers: [['user-agent', DEFAULT_USER_AGENT]],
        credentialHeaders: new Set(),
        followRedirect: true,
        dispatcher: inputs.allowExpiredCertificate ? transport.insecure : transport.verifying,
        signal: ctx.signal,
        taskSignal: ctx.signal,
        traceContext: ctx.trace,
      });
      try {
        if (response.statusCode >= 400) {
          // Quote a little of the error page, as http.request does; never hash it.
          const quoted = await readCapped(response.body, 64 * 1024, target).catch(() => Buffer.alloc(0));
          throw statusError(response.statusCode, target, quoted, false);
        }
        const hash = createHash(inputs.algorithm);
        await hashStream(response.body as AsyncIterable<Buffer>, hash);
        return { checksum: encodeDigest(hash.digest(), inputs.digest) };
      } catch (error) {
        if (!response.body.destroyed) discardBody(response.body);
        throw error instanceof ParError ? error : classifyHttpError(error, { target, taskSignal: ctx.signal });
      }
    },
  });
}
