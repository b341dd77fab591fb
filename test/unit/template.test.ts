/**
 * `{{ … }}` templates with the vendor's semantics (its `tmpl` package over a Handlebars lexer):
 * what parses, what is refused at load, and how values print (Go style).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goJson, parseTemplate, plainDecimal, renderTemplate, type Template } from '../../src/actions/template.js';

function compile(source: string): Template {
  const parsed = parseTemplate(source);
  assert.ok(parsed.ok, parsed.ok ? '' : `${source}: ${parsed.problem}`);
  return parsed.template;
}

const render = (source: string, context: unknown): string => renderTemplate(compile(source), context);

const P = (parameters: Record<string, unknown>) => ({ parameters });

describe('templates: accepted syntax', () => {
  const cases: Array<[string, unknown, string]> = [
    ['{{ parameters.name }}', P({ name: 'web-1' }), 'web-1'],
    ['{{parameters.name}}', P({ name: 'web-1' }), 'web-1'],
    ['--host={{parameters.host}}:{{ parameters.port }}', P({ host: 'db', port: 5432 }), '--host=db:5432'],
    ['plain', P({}), 'plain'],
    ['', P({}), ''],
    ['{{ parameters.user.name }}', P({ user: { name: 'ada' } }), 'ada'],
    ['{{ parameters.hosts.[1] }}', P({ hosts: ['a', 'b'] }), 'b'],
    ['{{ parameters.hosts.[0].name }}', P({ hosts: [{ name: 'x' }] }), 'x'],
    ['{{ parameters.[key with space] }}', P({ 'key with space': 'v' }), 'v'],
    ['{{ parameters.[a.b] }}', P({ 'a.b': 'dotted' }), 'dotted'],
    ['{{ parameters.[+1] }}', P({}), ''],
    ['{{ parameters.list.[+1] }}', P({ list: ['a', 'b'] }), 'b'],
    ['{{~ parameters.x ~}}', P({ x: 'y' }), 'y'],
    [' a {{~ parameters.x ~}} b ', P({ x: 'y' }), ' a y b '],
    ['{{& parameters.x }}', P({ x: '<b>&' }), '<b>&'],
    ['{{~& parameters.x }}', P({ x: 'q' }), 'q'],
    ['{{ parameters.x }}', P({ x: '<script>"&\'' }), '<script>"&\''],
    ['x\\{{ parameters.x }}', P({ x: 'no' }), 'x{{ parameters.x }}'],
    ['\\{{ parameters.x }}', P({ x: 'no' }), '{{ parameters.x }}'],
    ['a\\\\{{ parameters.x }}', P({ x: 'yes' }), 'a\\\\yes'],
    ['{{ parameters }}', P({ b: 1, a: [true, null] }), '{"a":[true,null],"b":1}'],
    ['{{ parameters.a-b }}', P({ 'a-b': 'dash' }), 'dash'],
    ['{{ parameters.$x }}', P({ $x: 'dollar' }), 'dollar'],
    ['{{ parameters.é }}', P({ é: 'accent' }), 'accent'],
    ['{{ parameters.a1 }}', P({ a1: 'digit inside' }), 'digit inside'],
    ['{{\tparameters.x\n}}', P({ x: 'ws' }), 'ws'],
    ['}} alone {', P({}), '}} alone {'],
    ['{ {{ parameters.x }} }', P({ x: 'v' }), '{ v }'],
    ['{{ parameters.x }}{{ parameters.x }}', P({ x: 'v' }), 'vv'],
  ];
  for (const [source, context, expected] of cases) {
    it(`${JSON.stringify(source)} renders ${JSON.stringify(expected)}`, () => {
      assert.equal(render(source, context), expected);
    });
  }
});

describe('templates: refused at parse time', () => {
  const refused: Array<[string, RegExp]> = [
    ['{{ parameters.x', /unclosed/],
    ['{{ }}', /empty/],
    ['{{}}', /empty/],
    ['{{{ parameters.x }}}', /triple-stash/],
    ['{{ parameters.x }}}', /triple-stash/],
    ['{{#if parameters.x}}y{{/if}}', /blocks/],
    ['{{/if}}', /blocks/],
    ['{{> partial }}', /partials/],
    ['{{! comment }}', /comments/],
    ['{{!-- comment --}}', /comments/],
    ['{{^ parameters.x }}', /inverse/],
    ['{{else}}', /inverse/],
    ['{{{{raw}}}}', /raw/],
    ['{{ parameters.a | upper }}', /unexpected character/],
    ['{{ upper parameters.a }}', /helpers/],
    ['{{ parameters.a + 1 }}', /unexpected character|numbers/],
    ['{{ parameters["a"] }}', /helpers and arguments/],
    ['{{ parameters.a. }}', /unexpected "\."/],
    ['{{ parameters.a.}}', /unexpected "\."/],
    ['{{ parameters.a() }}', /unexpected character/],
    ['{{ parameters..a }}', /"\.\." paths/],
    ['{{ ../parameters }}', /"\.\." paths/],
    ['{{ parameters/a }}', /unexpected "\/"/],
    ['{{ parameters.1 }}', /numbers are not path segments/],
    ['{{ parameters.hosts.0 }}', /numbers are not path segments/],
    ['{{ 5 }}', /numbers/],
    ['{{ "str" }}', /unexpected character/],
    ['{{ true }}', /literals/],
    ['{{ @index }}', /unexpected character/],
    ['{{ a=b }}', /unexpected character/],
    ['{{ (sub) }}', /unexpected character/],
    ['{{ .a }}', /unexpected "\."/],
    ['{{ parameters.[unterminated }}', /unterminated/],
    ['{{ parameters.[a\nb] }}', /unterminated/],
    ['{{.State.Status}}', /unexpected "\."/],
    ['{{ parameters . a }}', /unexpected "\."/],
  ];
  for (const [source, why] of refused) {
    it(`${JSON.stringify(source)} is refused`, () => {
      const r = parseTemplate(source);
      assert.equal(r.ok, false);
      assert.match(r.problem, why);
    });
  }
});

describe('templates: values print as the vendor prints them', () => {
  const values: Array<[unknown, string]> = [
    ['text', 'text'],
    [3, '3'],
    [-0, '-0'],
    [0.1, '0.1'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    [123456789012345680000, '123456789012345680000'],
    [-2.5e-10, '-0.00000000025'],
    [true, 'true'],
    [false, 'false'],
    [null, ''],
    [{ b: 2, a: 1 }, '{"a":1,"b":2}'],
    [[1, 'x', null], '[1,"x",null]'],
    [{ u: 'a&b<c>' }, '{"u":"a&b<c>"}'],
    [{ n: { z: 1, y: [{ d: 1, c: 2 }] } }, '{"n":{"y":[{"c":2,"d":1}],"z":1}}'],
    ['\u2028', '\u2028'],
    [{ s: '\u2028' }, '{"s":"\\u2028"}'],
  ];
  for (const [value, expected] of values) {
    it(`${(JSON.stringify(value) as string | undefined) ?? String(value)} prints ${JSON.stringify(expected)}`, () => {
      assert.equal(render('{{ parameters.v }}', P({ v: value })), expected);
    });
  }

  it('missing paths, paths through scalars and prototype names print empty', () => {
    for (const [source, params] of [
      ['{{ parameters.missing }}', {}],
      ['{{ parameters.a.b }}', { a: 'str' }],
      ['{{ parameters.constructor }}', {}],
      ['{{ parameters.__proto__ }}', {}],
      ['{{ parameters.a.toString }}', { a: {} }],
      ['{{ parameters.list.length }}', { list: [1, 2] }],
      ['{{ parameters.list.[5] }}', { list: [1, 2] }],
      ['{{ parameters.list.[-1] }}', { list: [1, 2] }],
      ['{{ other.root }}', {}],
    ] as const) {
      assert.equal(render(source, P(params)), '', source);
    }
  });

  it('never re-renders a value that itself looks like a placeholder', () => {
    assert.equal(render('{{ parameters.a }}', P({ a: '{{ parameters.b }}', b: 'leaked' })), '{{ parameters.b }}');
  });

  it('plainDecimal and goJson agree with Go on edge numbers', () => {
    assert.equal(plainDecimal(5e-324), `0.${'0'.repeat(323)}5`);
    assert.equal(plainDecimal(1.7976931348623157e308).length, 309);
    assert.equal(goJson({ n: -0, m: 1e21 }), '{"m":1e+21,"n":-0}');
  });
});
