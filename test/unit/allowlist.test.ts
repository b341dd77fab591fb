import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Allowlist } from '../../src/actions/allowlist.js';

describe('Allowlist', () => {
  it('admits exact FQNs only', () => {
    const list = new Allowlist(['com.datadoghq.http.request']);
    assert.equal(list.allows('com.datadoghq.http.request'), true);
    assert.equal(list.allows('com.datadoghq.http.request.x'), false);
    assert.equal(list.allows('com.datadoghq.http.getChecksumFromURL'), false);
  });

  it('`bundle.*` admits every action of that bundle', () => {
    const list = new Allowlist(['com.datadoghq.http.*']);
    assert.equal(list.allows('com.datadoghq.http.request'), true);
    assert.equal(list.allows('com.datadoghq.http.testConnection'), true);
  });

  it('`bundle.*` admits neither a look-alike bundle, nor a nested one, nor the bare prefix', () => {
    const list = new Allowlist(['com.datadoghq.http.*']);
    assert.equal(list.allows('com.datadoghq.httpx.request'), false);
    assert.equal(list.allows('com.datadoghq.http.x.request'), false);
    assert.equal(list.allows('com.datadoghq.http.'), false);
    assert.equal(list.allows('com.datadoghq.http'), false);
  });

  it('an empty list admits nothing', () => {
    const list = new Allowlist([]);
    assert.equal(list.allows('com.datadoghq.http.request'), false);
    assert.equal(new Allowlist(['', '  ']).allows(''), false);
  });

  it('trims entries (lists split from an environment variable)', () => {
    const list = new Allowlist([' com.datadoghq.http.request ', ' com.datadoghq.kubernetes.core.* ']);
    assert.equal(list.allows('com.datadoghq.http.request'), true);
    assert.equal(list.allows('com.datadoghq.kubernetes.core.listPod'), true);
    assert.equal(list.allows('com.datadoghq.kubernetes.apps.listDeployment'), false);
  });
});

describe('Allowlist: inherited actions (as the vendor runner)', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['com.datadoghq.http.request'], 'com.datadoghq.http.testConnection', true],
    [['com.datadoghq.http.*'], 'com.datadoghq.http.testConnection', true],
    [['com.datadoghq.kubernetes.core.listPod'], 'com.datadoghq.kubernetes.core.testConnection', true],
    [['com.datadoghq.kubernetes.core.listPod'], 'com.datadoghq.kubernetes.apps.testConnection', false],
    [['com.datadoghq.postgresql.select'], 'com.datadoghq.postgresql.testConnection', true],
    [['com.datadoghq.script.runPredefinedScript'], 'com.datadoghq.script.enrichScript', true],
    [['com.datadoghq.script.runPredefinedScript'], 'com.datadoghq.script.testConnection', true],
    [['com.datadoghq.script.runPredefinedPowershellScript'], 'com.datadoghq.script.enrichScript', true],
    [['com.datadoghq.script.*'], 'com.datadoghq.script.enrichScript', true],
    [['com.datadoghq.script.runPredefinedScript'], 'com.datadoghq.script.runPredefinedPowershellScript', false],
    [['com.datadoghq.http.request'], 'com.datadoghq.script.enrichScript', false],
    [['com.datadoghq.http.request'], 'com.datadoghq.script.testConnection', false],
    [['com.datadoghq.http.request'], 'com.datadoghq.httpx.testConnection', false],
    [['com.datadoghq.kubernetes.core.*'], 'com.datadoghq.kubernetes.testConnection', false],
    [[], 'com.datadoghq.http.testConnection', false],
  ];
  for (const [entries, action, expected] of cases) {
    it(`${JSON.stringify(entries)} ${expected ? 'admits' : 'refuses'} ${action}`, () => {
      assert.equal(new Allowlist(entries).allows(action), expected);
    });
  }
});
