/**
 * `npm test` builds dist/ with `scripts/build.js --transpile-only` (each file emitted on its own)
 * and then type-checks separately; that build is only sound if it emits exactly what tsc emits.
 * Checked on a small project holding the constructs whose emit could differ without the whole
 * program (type-only and mixed imports, a JSON import with attributes, an enum, parameter
 * properties, a re-export), compiled both ways with the project's own compiler options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JS module without types (scripts/ is not TypeScript)
import { transpileAll } from '../../scripts/transpile-only.js';
import { tempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES: Record<string, string> = {
  'src/version.ts': `import pkg from '../package.json' with { type: 'json' };\nexport const VERSION: string = pkg.version;\n`,
  'src/kinds.ts': `export enum Kind { A = 'a', B = 'b' }\nexport type Shape = { kind: Kind };\nexport interface Named { name: string }\n`,
  'src/thing.ts': [
    `import { Kind, type Shape } from './kinds.js';`,
    `import type { Named } from './kinds.js';`,
    `import { VERSION } from './version.js';`,
    `export class Thing implements Named {`,
    `  constructor(public readonly name: string, private readonly shape: Shape = { kind: Kind.A }) {}`,
    `  describe(): string { return \`\${this.name} \${this.shape.kind} \${VERSION}\`; }`,
    `}`,
    `export { Kind } from './kinds.js';`,
    `export type { Shape } from './kinds.js';`,
    ``,
  ].join('\n'),
};

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), await readFile(path, 'utf8'));
  }
  return out;
}

test('the transpile-only build emits the same JavaScript and source maps as tsc', async (t) => {
  const tmp = await tempDir('par-transpile-');
  t.after(() => tmp.remove());
  const dir = tmp.path;
  const base = JSON.parse(await readFile(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions: object };
  const build = JSON.parse(await readFile(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: object };
  for (const [path, text] of Object.entries(SOURCES)) {
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '1.2.3', type: 'module' }));
  // the project's options, minus the node types (this tiny project has no node_modules)
  const options = { ...base.compilerOptions, ...build.compilerOptions, types: [] };
  for (const out of ['tsc-out', 'fast-out']) {
    await writeFile(join(dir, `${out}.json`), JSON.stringify({ compilerOptions: { ...options, outDir: out }, include: ['src'] }));
  }

  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsc-out.json')], { cwd: dir, encoding: 'utf8' });
  assert.equal(result.status, 0, `tsc failed: ${result.stdout}${result.stderr}`);
  (transpileAll as (configPath: string, root: string) => void)(join(dir, 'fast-out.json'), dir);

  const expected = await filesUnder(join(dir, 'tsc-out'));
  const actual = await filesUnder(join(dir, 'fast-out'));
  expected.delete('package.json'); // tsc re-prints the imported JSON; the fast build copies it
  assert.equal(JSON.parse(actual.get('package.json') ?? 'null').version, '1.2.3');
  actual.delete('package.json');
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  assert.ok(expected.has('src/thing.js') && expected.has('src/thing.js.map'));
  for (const [path, text] of expected) assert.equal(actual.get(path), text, `${path} differs from tsc's`);
});
