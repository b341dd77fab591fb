/**
 * `@kubernetes/client-node` (the heaviest import of a worker) is loaded on the first Kubernetes
 * task, not when a worker builds its action registry: checked in a fresh node process whose
 * module resolution refuses that package.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

const hook =
  "export async function resolve(specifier, context, next) { if (specifier === '@kubernetes/client-node') throw new Error('kubernetes library blocked'); return next(specifier, context); }";
const script = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
const { createActionRegistry } = await import('./src/actions/registry.ts');
const registry = createActionRegistry();
const fqns = registry.fqns.filter((f) => f.startsWith('com.datadoghq.kubernetes.')).length;
const { kubeLibrary } = await import('./src/actions/kubernetes/library.ts');
const firstUse = await kubeLibrary().then(() => 'loaded', (e) => e.message);
console.log(JSON.stringify({ registered: fqns > 0, firstUse }));
await registry.close();
`;

describe('kubernetes library loading', () => {
  it('building the registry registers the Kubernetes actions without loading the library; the first use loads it', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), { registered: true, firstUse: 'kubernetes library blocked' });
  });
});
