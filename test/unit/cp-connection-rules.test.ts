import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessToCreate, checkConnectionShape, reaimedFields } from '../../src/control-plane/connection-rules.js';
import { isParError } from '../../src/errors/par-error.js';

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isParError(error));
    assert.equal(error.code, 'PAR_ERR_REQUEST_INVALID');
    return error.message;
  }
  assert.fail('not refused');
}

describe('connection rules', () => {
  it('an http connection with credentials needs an http(s) baseUrl without userinfo', () => {
    assert.match(
      refusal(() => checkConnectionShape({ integration: 'http', settings: {}, credentialPath: 'c.json' })),
      /settings\.baseUrl: required/,
    );
    assert.match(
      refusal(() => checkConnectionShape({ integration: 'http', settings: { baseUrl: 'ftp://x/' }, credentialPath: 'c.json' })),
      /settings\.baseUrl/,
    );
    assert.match(
      refusal(() => checkConnectionShape({ integration: 'http', settings: { baseUrl: 'https://u@x/' } })),
      /settings\.baseUrl: must not carry/,
    );
    checkConnectionShape({ integration: 'http', settings: { baseUrl: 'https://api.example.test/v1' }, credentialPath: 'c.json' });
    checkConnectionShape({ integration: 'http', settings: {} });
    checkConnectionShape({ integration: 'postgresql', settings: {}, credentialPath: 'pg.json' });
  });

  it('path settings stay inside the config dir', () => {
    for (const p of ['/etc/x', '../x', 'a/../../x', '~/x', 'C:/x', 7]) {
      assert.match(
        refusal(() => checkConnectionShape({ integration: 'kubernetes', settings: { kubeconfigPath: p } })),
        /settings\.kubeconfigPath/,
      );
    }
    checkConnectionShape({ integration: 'kubernetes', settings: { kubeconfigPath: 'kube/config.yaml' } });
  });

  it('creating with credentials is editor work', () => {
    assert.equal(accessToCreate({ integration: 'http', settings: { baseUrl: 'https://x' } }), 'contributor');
    assert.equal(accessToCreate({ integration: 'http', settings: { baseUrl: 'https://x' }, credentialPath: 'c.json' }), 'editor');
    assert.equal(accessToCreate({ integration: 'kubernetes', settings: { kubeconfigPath: 'k' } }), 'editor');
  });

  it('names the fields that re-aim a connection; harmless changes name none', () => {
    const current = {
      integration: 'http',
      settings: { baseUrl: 'https://a', headers: [{ key: 'Authorization', value: 'Bearer {{ t }}' }] },
      credentialPath: 'c.json',
    };
    assert.deepEqual(reaimedFields(current, { ...current, settings: { ...current.settings, headers: [] } }), []);
    assert.deepEqual(reaimedFields(current, { ...current, credentialPath: 'pg.json' }), ['credentialPath']);
    assert.deepEqual(reaimedFields(current, { ...current, credentialPath: undefined }), ['credentialPath']);
    assert.deepEqual(reaimedFields(current, { ...current, settings: { baseUrl: 'https://b' } }), ['settings.baseUrl']);
    const kube = { integration: 'kubernetes', settings: { kubeconfigPath: 'k', context: 'a' } };
    assert.deepEqual(reaimedFields(kube, { ...kube, settings: { kubeconfigPath: 'k2', context: 'b' } }), [
      'settings.context',
      'settings.kubeconfigPath',
    ]);
  });
});
