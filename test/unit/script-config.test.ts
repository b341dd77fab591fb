import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileScriptConfig } from '../../src/actions/script/config.js';
import { locateScriptConfig, ScriptConfigStore } from '../../src/actions/script/config-store.js';
import { ParError } from '../../src/errors/par-error.js';
import { toCredentials } from '../../src/actions/credentials.js';
import { tempDir } from '../helpers/tmp.js';

function problem(doc: unknown): string {
  const r = compileScriptConfig(doc);
  assert.equal(r.ok, false, 'expected the config to be refused');
  return r.ok ? '' : r.problem;
}

describe('script config: compile', () => {
  it('compiles the seed format: scripts, schemas, env allowlists', () => {
    const r = compileScriptConfig({
      schemaId: 'script-credentials-v1',
      runPredefinedScript: {
        echo: { command: ['/bin/echo', '{{ parameters.msg }}'], parameterSchema: { type: 'object', properties: { msg: { type: 'string' } }, required: ['msg'] }, allowedEnvVars: ['HOME'] },
        uptime: { command: ['uptime'] },
      },
      runPredefinedPowershellScript: { disk: { command: ['/opt/disk.ps1'] } },
    });
    assert.ok(r.ok);
    const echo = r.config.scripts.get('echo');
    assert.equal(echo?.program, '/bin/echo');
    assert.deepEqual(echo?.allowedEnvVars, ['HOME']);
    assert.equal(echo?.validate?.({ msg: 'hi' }), true);
    assert.equal(echo?.validate?.({}), false);
    assert.equal(r.config.scripts.get('uptime')?.validate, undefined);
    assert.deepEqual([...r.config.powershellScripts.keys()], ['disk']);
  });

  it('refuses a wrong schemaId, a templated or empty program, bad placeholders, bad schemas, bad env names', () => {
    assert.match(problem({ runPredefinedScript: {} }), /schemaId/);
    assert.match(problem({ schemaId: 'script-credentials-v2' }), /schemaId: must be "script-credentials-v1"/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['{{ parameters.bin }}'] } } }), /runPredefinedScript\.a\.command\.0: the program must be fixed/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: [] } } }), /command/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['/bin/x', '{{ parameters.a | sh }}'] } } }), /command\.1: .*not a lookup/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['/bin/x'], parameterSchema: { type: 'nope' } } } }), /a\.parameterSchema: not a valid JSON Schema/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['/bin/x'], allowedEnvVars: ['A=B'] } } }), /allowedEnvVars/);
    // A check that would be skipped silently is refused instead.
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['/bin/x'], parameterSchema: { type: 'object', properties: { e: { type: 'string', format: 'email' } } } } } }), /unknown format "email"/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['/bin/x'], parameterSchema: { type: 'object', maxLenght: 3 } } } }), /maxLenght/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { 'bad name!': { command: ['/bin/x'] } } }), /script names/);
    assert.match(problem({ schemaId: 'script-credentials-v1', runPredefinedScript: { a: { command: ['/bin/x'], shell: true } } }), /shell/);
  });

  it('a script connection credential file is accepted by the credential parser and carries nothing', () => {
    assert.deepEqual(toCredentials({ schemaId: 'script-credentials-v1', runPredefinedScript: {} }), { ok: true, value: { authType: 'Script Config' } });
  });
});

describe('script config: store', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => { dir = await tempDir('script-config'); });
  after(async () => { await dir.remove(); });

  const good = (name: string) => `schemaId: script-credentials-v1\nrunPredefinedScript:\n  ${name}:\n    command: ["/bin/echo", "hi"]\n`;

  it('parses once per file version and picks up an edit', async () => {
    const store = new ScriptConfigStore();
    const path = join(dir.path, 'cached.yaml');
    await writeFile(path, good('first'));
    const loc = locateScriptConfig(dir.path, 'cached.yaml', undefined);
    const a = await store.load(loc);
    const b = await store.load(loc);
    assert.equal(a, b, 'the same compiled config is reused while the file is unchanged');
    await writeFile(path, good('second'));
    await utimes(path, new Date(), new Date(Date.now() + 5_000));
    const c = await store.load(loc);
    assert.notEqual(c, a);
    assert.deepEqual([...c.scripts.keys()], ['second']);
  });

  it('a malformed file is a clear non-retryable error naming the file, never its values', async () => {
    const store = new ScriptConfigStore();
    await writeFile(join(dir.path, 'broken.yaml'), 'schemaId: script-credentials-v1\nrunPredefinedScript:\n  x: {command: ["/bin/echo", "sup3rsecret"\n');
    await writeFile(join(dir.path, 'wrong.yaml'), 'schemaId: script-credentials-v1\nrunPredefinedScript:\n  x:\n    command: "sup3rsecret"\n');
    for (const file of ['broken.yaml', 'wrong.yaml', 'absent.yaml']) {
      await assert.rejects(store.load(locateScriptConfig(dir.path, file, undefined)), (e: unknown) => {
        assert.ok(e instanceof ParError);
        assert.equal(e.code, 'PAR_ERR_SCRIPT_CONFIG_INVALID');
        assert.equal(e.retryable, false);
        assert.match(e.message, new RegExp(file.replace('.', '\\.')));
        assert.doesNotMatch(e.message, /sup3rsecret/);
        return true;
      });
    }
  });

  it('uses a script connection credential file, confined to the config dir', async () => {
    const store = new ScriptConfigStore();
    await mkdir(join(dir.path, 'credentials'), { recursive: true });
    await writeFile(join(dir.path, 'credentials', 'scripts.yaml'), good('fromConnection'));
    const conn = { id: 'c1', integration: 'script', credentialPath: 'credentials/scripts.yaml' };
    const config = await store.load(locateScriptConfig(dir.path, 'script-config.yaml', conn));
    assert.deepEqual([...config.scripts.keys()], ['fromConnection']);

    // An http connection's file is not a script config: the worker file is used.
    assert.equal(locateScriptConfig(dir.path, 'script-config.yaml', { id: 'c2', integration: 'http', credentialPath: 'x.json' }).label, 'script-config.yaml');

    const outside = await tempDir('script-outside');
    try {
      await writeFile(join(outside.path, 'evil.yaml'), good('evil'));
      await symlink(join(outside.path, 'evil.yaml'), join(dir.path, 'credentials', 'link.yaml'));
      for (const credentialPath of ['../evil.yaml', join(outside.path, 'evil.yaml'), 'credentials/link.yaml']) {
        await assert.rejects(store.load(locateScriptConfig(dir.path, 'script-config.yaml', { id: 'c3', integration: 'script', credentialPath })), /outside the config dir|absolute paths|"\.\." segments/);
      }
    } finally {
      await outside.remove();
    }
  });
});
