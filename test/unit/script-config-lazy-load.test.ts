/**
 * The script config compiler (config.ts with Ajv and ajv-formats) is loaded on the first script
 * task that reads a config, not when a worker builds its action registry: checked in fresh node
 * processes, one where it loads (Ajv not in the module cache before, in it after the first config
 * is compiled) and one whose module resolution refuses Ajv (the first load fails with a clear error).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refuseModules, runFreshScript } from '../helpers/fresh-process.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

const script = (block: boolean, dir: string): string => `
import { createRequire } from 'node:module';
${block ? refuseModules("specifier === 'ajv'", 'ajv blocked') : ''}
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/ajv/'));
const { createActionRegistry } = await import('./src/actions/registry.ts');
const registry = createActionRegistry();
const registered = registry.fqns.filter((f) => f.startsWith('com.datadoghq.script.')).length;
const before = loaded();
const { locateScriptConfig, ScriptConfigStore } = await import('./src/actions/script/config-store.ts');
const firstUse = await new ScriptConfigStore().load(locateScriptConfig(${JSON.stringify(dir)}, 'script-config.yaml', undefined)).then(
  (config) => [...config.scripts.keys()].join(','),
  (e) => e.code + ': ' + e.message,
);
console.log(JSON.stringify({ registered, before, firstUse, after: loaded() }));
await registry.close();
`;

describe('script config compiler loading', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('script-lazy');
    await writeFile(
      join(dir.path, 'script-config.yaml'),
      'schemaId: script-credentials-v1\nrunPredefinedScript:\n  echo:\n    command: ["echo", "{{ parameters.word }}"]\n    parameterSchema:\n      type: object\n      properties:\n        word: { type: string, format: hostname }\n',
    );
  });
  after(() => dir.remove());

  const run = (block: boolean): Promise<Record<string, unknown>> => runFreshScript(script(block, dir.path));

  it('building the registry registers the script actions without loading Ajv; the first config loaded does', async () => {
    assert.deepEqual(await run(false), { registered: 4, before: false, firstUse: 'echo', after: true });
  });

  it('when Ajv cannot be loaded, the registry still builds and the first config load fails saying so', async () => {
    const r = await run(true);
    assert.equal(r['registered'], 4);
    assert.match(String(r['firstUse']), /^PAR_ERR_ACTION_FAILED: .*the script config compiler \(ajv\) could not be loaded: .*ajv blocked/);
  });
});
