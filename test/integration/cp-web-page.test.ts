/**
 * The web page's routes through inject(): the HTML shell and its assets answer with the right
 * content types and a strict CSP, and the server puts no dynamic data into the page (all of it
 * goes through the JSON API, where the browser inserts it as text).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKeyPair } from '../../src/crypto/keys.js';
import { RUNNER_API, enrollResponseSchema } from '../../src/contracts/runner-api.js';
import { startHarness, type Harness } from './control-plane-harness.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

describe('web page routes', () => {
  let h: Harness;
  let runnerId: string;
  const runnerName = 'web-page-runner';

  before(async () => {
    h = await startHarness('web');
    const keyPair = await generateSigningKeyPair();
    const res = await h.request('POST', RUNNER_API.enroll, {
      headers: { 'dd-api-key': h.apiKey, 'dd-application-key': h.appKey },
      body: { name: runnerName, publicKey: keyPair.publicJwk, allowlist: [HOSTILE], version: '<b>1.0</b>' },
    });
    assert.equal(res.statusCode, 201, JSON.stringify(res.body));
    runnerId = enrollResponseSchema.parse(res.body).runnerId;
  });

  after(async () => {
    await h.close();
  });

  const get = (url: string) => h.app.inject({ method: 'GET', url });

  test('GET / is the HTML shell with a strict CSP and no inline script or style', async () => {
    const res = await get('/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/);
    assert.match(csp, /(^|; )default-src 'none'(;|$)/);
    assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    const html = res.body;
    assert.match(html, /<script type="module" src="\/assets\/app\.js"><\/script>/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    assert.doesNotMatch(html, /https?:\/\//, 'no external asset');
  });

  test('a runner page is the same static shell: nothing about the runner, nothing from the URL', async () => {
    const shell = (await get('/')).body;
    const page = await get(`/runners/${encodeURIComponent(runnerId)}`);
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.ok(page.headers['content-security-policy']);
    assert.equal(page.body, shell);
    for (const dynamic of [runnerId, runnerName, 'onerror', '<b>']) assert.ok(!page.body.includes(dynamic), `page contains ${dynamic}`);

    const reflected = await get(`/runners/${encodeURIComponent('<script>alert(1)</script>')}`);
    assert.equal(reflected.statusCode, 200);
    assert.equal(reflected.body, shell);
  });

  test('the data reaches the browser only through the JSON API, which needs an app key', async () => {
    const anonymous = await get('/api/v1/runners');
    assert.ok(anonymous.statusCode === 401 || anonymous.statusCode === 403, String(anonymous.statusCode));
    const withKey = await h.request('GET', '/api/v1/runners', { headers: h.appHeaders() });
    assert.equal(withKey.statusCode, 200);
    assert.ok(JSON.stringify(withKey.body).includes('onerror'), 'the hostile allowlist entry is data, served as JSON');
  });

  test('every module the page loads is served as JavaScript with the same CSP, and never builds HTML from strings', async () => {
    const seen = new Set<string>();
    const queue = ['app.js'];
    while (queue.length > 0 && seen.size < 50) {
      const file = queue.shift() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const res = await get(`/assets/${file}`);
      assert.equal(res.statusCode, 200, `/assets/${file}`);
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.ok(res.headers['content-security-policy']);
      const source = res.body;
      assert.doesNotMatch(
        source,
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|\.setAttribute\(['"]style/,
        `${file} builds HTML or code from strings`,
      );
      for (const m of source.matchAll(/from '\.\/([a-z0-9-]+\.js)'/g)) queue.push(m[1] as string);
    }
    assert.ok(seen.size >= 5, `modules found: ${[...seen].join(', ')}`);

    const css = await get('/assets/style.css');
    assert.equal(css.statusCode, 200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.doesNotMatch(css.body, /@import|url\(\s*['"]?https?:/, 'no external stylesheet or font');
    const icon = await get('/assets/favicon.svg');
    assert.equal(icon.headers['content-type'], 'image/svg+xml');
  });

  test('only the page assets are served: no other file, no path tricks', async () => {
    for (const url of ['/assets/nope.js', '/assets/..%2Fassets.ts', '/assets/index.html', '/assets/%2E%2E%2F%2E%2E%2Fapp.ts', '/assets/']) {
      const res = await get(url);
      assert.ok(res.statusCode === 404 || res.statusCode === 400, `${url} -> ${res.statusCode}`);
      assert.match(String(res.headers['content-type']), /application\/json/);
    }
  });
});
