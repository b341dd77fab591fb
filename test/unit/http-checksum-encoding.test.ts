/**
 * `http.getChecksumFromURL` and `http.request`'s `responseEncoding`, against a loopback server,
 * with the expected values computed independently (node:crypto over the served bytes, Buffer
 * encodings) and the vendor's rules (default sha256/hex, unknown digest = hex, latin1 charsets,
 * base64 for binary content types).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ActionContext } from '../../src/actions/action.js';
import { createHttpBundle, type HttpBundle } from '../../src/actions/http/bundle.js';
import { getChecksumInputSchema } from '../../src/actions/http/checksum.js';
import { httpRequestInputSchema } from '../../src/actions/http/inputs.js';
import { runHttpRequest } from '../../src/actions/http/request.js';
import { decodeBody, inferEncoding, parseBody } from '../../src/actions/http/response.js';
import { ParError } from '../../src/errors/par-error.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { startTargetServer, type TargetServer } from '../helpers/target-server.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const ARTIFACT = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);

describe('http.getChecksumFromURL', () => {
  let target: TargetServer;
  let bundle: HttpBundle;

  before(async () => {
    target = await startTargetServer();
    bundle = createHttpBundle();
    target.route('/artifact.tgz', (_req, res) => {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(ARTIFACT);
    });
    target.route('/moved', (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/artifact.tgz');
      res.end();
    });
    target.route('/gone', (_req, res) => {
      res.statusCode = 404;
      res.end('not here');
    });
    target.route('/logo.png', (_req, res) => {
      res.setHeader('content-type', 'image/png');
      res.end(PNG);
    });
    target.route('/latin', (_req, res) => {
      res.setHeader('content-type', 'text/plain; charset=ISO-8859-1');
      res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    });
    target.route('/utf16', (_req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(Buffer.from('hé!', 'utf16le'));
    });
    target.route('/json', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"a":[1,2]}');
    });
  });
  after(async () => {
    await bundle.close();
    await target.close();
  });

  const ctx = (): ActionContext => ({
    signal: new AbortController().signal,
    logger,
    configDir: '.',
    limits: { httpMaxResponseBytes: 1024 },
  });
  const checksum = (inputs: Record<string, unknown>) =>
    bundle.actions.find((a) => a.fqn === 'com.datadoghq.http.getChecksumFromURL')!.run(getChecksumInputSchema.parse(inputs), ctx());
  const request = (inputs: Record<string, unknown>) =>
    runHttpRequest(httpRequestInputSchema.parse(inputs), { ...ctx(), limits: { httpMaxResponseBytes: 1 << 20 } }, bundle.transport);
  const digest = (alg: string) => createHash(alg).update(ARTIFACT).digest();

  it('defaults to sha256 in hex, streaming a body larger than the response cap', async () => {
    assert.deepEqual(await checksum({ url: `${target.url}/artifact.tgz` }), { checksum: digest('sha256').toString('hex') });
  });

  it('supports md5, sha1, sha384, sha512 in any case, with hex, base64, base64url (unpadded) and unknown digests as hex', async () => {
    assert.deepEqual(await checksum({ url: `${target.url}/artifact.tgz`, algorithm: 'MD5' }), { checksum: digest('md5').toString('hex') });
    assert.deepEqual(await checksum({ url: `${target.url}/artifact.tgz`, algorithm: 'sha1', digest: 'base64' }), {
      checksum: digest('sha1').toString('base64'),
    });
    const url384 = (await checksum({ url: `${target.url}/artifact.tgz`, algorithm: 'sha384', digest: 'base64url' })) as {
      checksum: string;
    };
    assert.equal(url384.checksum, digest('sha384').toString('base64url'));
    assert.ok(!url384.checksum.includes('='));
    assert.deepEqual(await checksum({ url: `${target.url}/artifact.tgz`, algorithm: 'sha512', digest: 'whatever' }), {
      checksum: digest('sha512').toString('hex'),
    });
  });

  it('refuses an unknown algorithm at validation, follows redirects, and fails on a 404 instead of hashing the error page', async () => {
    assert.equal(getChecksumInputSchema.safeParse({ url: `${target.url}/x`, algorithm: 'crc32' }).success, false);
    assert.equal(getChecksumInputSchema.safeParse({ url: 'file:///etc/passwd' }).success, false);
    assert.deepEqual(await checksum({ url: `${target.url}/moved` }), { checksum: digest('sha256').toString('hex') });
    await assert.rejects(
      checksum({ url: `${target.url}/gone` }),
      (e: unknown) => e instanceof ParError && e.code === 'PAR_ERR_HTTP_STATUS' && e.message.includes('404'),
    );
  });

  it('responseEncoding: binary content types come back base64 by default, any encoding can be asked for', async () => {
    assert.equal((await request({ url: `${target.url}/logo.png` })).body, PNG.toString('base64'));
    assert.equal((await request({ url: `${target.url}/logo.png`, responseEncoding: 'hex' })).body, PNG.toString('hex'));
    assert.equal((await request({ url: `${target.url}/latin` })).body, 'café');
    assert.equal((await request({ url: `${target.url}/utf16`, responseEncoding: 'utf16le' })).body, 'hé!');
    assert.equal(
      (await request({ url: `${target.url}/json`, responseEncoding: 'base64' })).body,
      Buffer.from('{"a":[1,2]}').toString('base64'),
    );
    assert.deepEqual((await request({ url: `${target.url}/json`, responseEncoding: 'utf8' })).body, { a: [1, 2] });
    assert.equal(httpRequestInputSchema.safeParse({ url: `${target.url}/json`, responseEncoding: 'ebcdic' }).success, false);
  });

  it('decodes and infers encodings as the vendor does', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0x3e]);
    assert.equal(decodeBody(bytes, 'base64'), '+/8+');
    assert.equal(decodeBody(bytes, 'base64url'), '-_8-');
    assert.equal(decodeBody(Buffer.from([0xfb]), 'base64url'), '-w==', 'Go URLEncoding keeps the padding');
    assert.equal(decodeBody(bytes, 'latin1'), 'û\u00ff>');
    assert.equal(decodeBody(Buffer.from('ab', 'utf16le'), 'ucs-2'), 'ab');
    assert.equal(inferEncoding('font/woff2', false), 'base64');
    assert.equal(inferEncoding('audio/ogg', false), 'base64');
    assert.equal(inferEncoding('application/octet-stream', false), 'base64');
    assert.equal(inferEncoding('text/html; charset=iso-8859-1', false), 'latin1');
    assert.equal(inferEncoding('application/json; charset=iso-8859-1', true), 'latin1');
    assert.equal(inferEncoding('text/plain; charset=utf-8', false), 'utf-8');
    assert.equal(inferEncoding(undefined, false), 'utf-8');
    assert.equal(parseBody(Buffer.from('{"x":1}'), 'application/json', 'auto', '', 'hex'), Buffer.from('{"x":1}').toString('hex'));
  });
});
