import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, renderTemplate, type Template } from '../../src/actions/script/template.js';

function compile(element: string): Template {
  const parsed = parseTemplate(element);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  return parsed.template;
}

function render(element: string, parameters: Record<string, unknown>): string {
  const r = renderTemplate(compile(element), parameters);
  assert.ok(r.ok, r.ok ? '' : r.problem);
  return r.value;
}

describe('script argv templates', () => {
  it('substitutes a whole element and embedded lookups, with or without spaces', () => {
    assert.equal(render('{{ parameters.name }}', { name: 'web-1' }), 'web-1');
    assert.equal(render('--host={{parameters.host}}:{{ parameters.port }}', { host: 'db', port: 5432 }), '--host=db:5432');
    assert.equal(render('plain', {}), 'plain');
    assert.equal(render('', {}), '');
  });

  it('follows dotted paths into objects and arrays', () => {
    assert.equal(render('{{ parameters.user.name }}', { user: { name: 'ada' } }), 'ada');
    assert.equal(render('{{ parameters.hosts.1 }}', { hosts: ['a', 'b'] }), 'b');
  });

  it('inserts non-string values as JSON text', () => {
    assert.equal(render('{{ parameters.n }}', { n: 3 }), '3');
    assert.equal(render('{{ parameters.b }}', { b: false }), 'false');
    assert.equal(render('{{ parameters.z }}', { z: null }), 'null');
    assert.equal(render('{{ parameters.o }}', { o: { a: [1, 'x'] } }), '{"a":[1,"x"]}');
  });

  it('refuses a path that leads nowhere instead of inserting nothing', () => {
    for (const [element, params] of [
      ['{{ parameters.missing }}', {}],
      ['{{ parameters.a.b }}', { a: 'str' }],
      ['{{ parameters.constructor }}', {}],
      ['{{ parameters.__proto__ }}', {}],
      ['{{ parameters.a.toString }}', { a: {} }],
    ] as const) {
      const r = renderTemplate(compile(element), params);
      assert.equal(r.ok, false, element);
      if (!r.ok) assert.match(r.problem, /is not set/);
    }
  });

  it('refuses expressions, filters and calls at parse time', () => {
    for (const bad of ['{{ parameters }}', '{{ parameters.a | upper }}', '{{ parameters.a + 1 }}', '{{ parameters["a"] }}', '{{ parameters.a() }}', '{{ parameters..a }}']) {
      const r = parseTemplate(bad);
      assert.equal(r.ok, false, bad);
    }
  });

  it('leaves other double-brace text (Go templates) alone', () => {
    assert.equal(render('{{.State.Status}}', {}), '{{.State.Status}}');
    assert.equal(render('{{ json .Config }} {{ parameters.x }}', { x: 'y' }), '{{ json .Config }} y');
  });

  it('never re-renders a value that itself looks like a placeholder', () => {
    assert.equal(render('{{ parameters.a }}', { a: '{{ parameters.b }}', b: 'leaked' }), '{{ parameters.b }}');
  });
});
