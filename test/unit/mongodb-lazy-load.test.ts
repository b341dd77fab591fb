/**
 * The mongodb driver is loaded on the first MongoDB task, not when a worker builds its action
 * registry: checked in a fresh node process (the driver is CommonJS, so once loaded its files
 * are in the module cache).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

const script = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require('node:module')._cache).some((k) => k.includes('/node_modules/mongodb/lib/'));
const { createActionRegistry } = await import('./src/actions/registry.ts');
const registry = createActionRegistry();
const before = loaded();
const { loadMongoDriver } = await import('./src/actions/mongodb/clients.ts');
await loadMongoDriver();
console.log(JSON.stringify({ fqns: registry.fqns.filter((f) => f.startsWith('com.datadoghq.mongodb.')).length, before, after: loaded() }));
await registry.close();
`;

describe('mongodb driver loading', () => {
  it('building the registry registers the ten actions without loading the driver; the first use loads it', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), { fqns: 10, before: false, after: true });
  });
});
