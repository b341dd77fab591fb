import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildUrl, httpRequestInputSchema, toHeaderRecord } from '../../src/actions/http/inputs.js';

const parse = (inputs: unknown) => httpRequestInputSchema.safeParse(inputs);

describe('http.request inputs', () => {
  it('accepts the vendor shape and a plain object for headers, normalised to pairs', () => {
    const vendor = parse({
      url: 'http://a/',
      requestHeaders: [
        { key: 'x-a', value: ['1', '2'] },
        { key: 'x-b', value: 'z' },
      ],
    });
    const plain = parse({ url: 'http://a/', requestHeaders: { 'x-a': ['1', '2'], 'x-b': 'z' } });
    assert.ok(vendor.success && plain.success);
    assert.deepEqual(vendor.data.requestHeaders, [
      ['x-a', '1'],
      ['x-a', '2'],
      ['x-b', 'z'],
    ]);
    assert.deepEqual(plain.data.requestHeaders, vendor.data.requestHeaders);
    assert.deepEqual(toHeaderRecord(vendor.data.requestHeaders ?? []), { 'x-a': ['1', '2'], 'x-b': 'z' });
  });

  it('accepts both shapes for url params and appends them to the URL', () => {
    const a = parse({
      url: 'http://a/p?x=0',
      urlParams: [
        { key: 'q', value: ['1', '2'] },
        { key: 'n', value: 3 },
      ],
    });
    assert.ok(a.success);
    assert.equal(buildUrl(a.data.url, a.data.urlParams).toString(), 'http://a/p?x=0&q=1&q=2&n=3');
    const b = parse({ url: 'http://a/', urlParams: { q: 'a b' } });
    assert.ok(b.success);
    assert.equal(buildUrl(b.data.url, b.data.urlParams).search, '?q=a+b');
  });

  it('defaults the verb to GET and accepts it in any case', () => {
    const d = parse({ url: 'https://a/' });
    assert.ok(d.success);
    assert.equal(d.data.verb, 'GET');
    const p = parse({ url: 'https://a/', verb: 'patch' });
    assert.ok(p.success);
    assert.equal(p.data.verb, 'PATCH');
  });

  it('refuses unknown verbs, non-http URLs, header injection and bad timeouts', () => {
    assert.equal(parse({ url: 'http://a/', verb: 'TRACE' }).success, false);
    assert.equal(parse({ url: 'file:///etc/passwd' }).success, false);
    assert.equal(parse({ url: 'not a url' }).success, false);
    assert.equal(parse({}).success, false);
    assert.equal(parse({ url: 'http://a/', requestHeaders: { 'x-a': 'v\r\nx-injected: 1' } }).success, false);
    assert.equal(parse({ url: 'http://a/', requestHeaders: { 'bad name': 'v' } }).success, false);
    assert.equal(parse({ url: 'http://a/', timeout: 0 }).success, false);
    assert.equal(parse({ url: 'http://a/', timeout: 1.5 }).success, false);
  });

  it('parses errorOnStatus codes, ranges and classes', () => {
    const r = parse({ url: 'http://a/', errorOnStatus: [404, '500-599', '4xx'] });
    assert.ok(r.success);
    assert.deepEqual(r.data.errorOnStatus, [
      { from: 404, to: 404 },
      { from: 500, to: 599 },
      { from: 400, to: 499 },
    ]);
    const s = parse({ url: 'http://a/', errorOnStatus: '429, 502-504' });
    assert.ok(s.success);
    assert.deepEqual(s.data.errorOnStatus, [
      { from: 429, to: 429 },
      { from: 502, to: 504 },
    ]);
  });

  // The vendor reads each entry with Go's strconv.Atoi: an optional sign and digits, ranges split on one "-".
  const vendorEntries: Array<[string, { from: number; to: number }]> = [
    ['404', { from: 404, to: 404 }],
    ['+404', { from: 404, to: 404 }],
    ['0404', { from: 404, to: 404 }],
    ['500-599', { from: 500, to: 599 }],
    ['+500-+599', { from: 500, to: 599 }],
    ['200-200', { from: 200, to: 200 }],
    ['302', { from: 302, to: 302 }],
    ['600', { from: 600, to: 600 }],
    ['0-999', { from: 0, to: 999 }],
    ['4xx', { from: 400, to: 499 }],
  ];
  for (const [entry, range] of vendorEntries) {
    it(`errorOnStatus entry "${entry}" reads as ${range.from}-${range.to}`, () => {
      const r = parse({ url: 'http://a/', errorOnStatus: [entry] });
      assert.ok(r.success, JSON.stringify(r.error?.issues));
      assert.deepEqual(r.data.errorOnStatus, [range]);
    });
  }

  it('refuses malformed errorOnStatus entries, naming them', () => {
    for (const bad of [['599-500'], ['abc'], [1000], ['-404'], ['404-'], ['1-2-3'], ['4o4'], ['4 04'], ['0x1F4'], ['4.04'], ['5xxx']]) {
      const r = parse({ url: 'http://a/', errorOnStatus: bad });
      assert.equal(r.success, false, JSON.stringify(bad));
    }
    const r = parse({ url: 'http://a/', errorOnStatus: ['5x'] });
    assert.ok(!r.success);
    assert.match(r.error.issues[0]?.message ?? '', /"5x"/);
  });
});
