/**
 * The production shape of the code (issue 11): a par process spawns par from the same build as
 * itself (compiled main.js by plain node, or main.ts through tsx only from the sources), and no
 * production module imports tsx, which is a dev dependency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parSelfCommand } from '../../src/cli/self-command.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('from dist/, par spawns the compiled main.js with plain node; from the sources, main.ts through tsx', () => {
  const compiled = parSelfCommand('file:///app/dist/src/cli/self-command.js');
  assert.equal(compiled.command, process.execPath);
  assert.deepEqual(compiled.args, ['/app/dist/src/cli/main.js']);
  const sources = parSelfCommand('file:///work/src/cli/self-command.ts');
  assert.equal(sources.args.length, 3);
  assert.equal(sources.args[0], '--import');
  assert.match(
    sources.args[1]!,
    /^file:\/\/.*\/node_modules\/tsx\/.*loader\.mjs$/,
    'tsx by absolute URL: the child finds it whatever its working directory',
  );
  assert.equal(sources.args[2], '/work/src/cli/main.ts');
});

test('tsx is a dev dependency and no production module imports it', async () => {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  assert.equal(pkg.dependencies['tsx'], undefined);
  assert.ok(pkg.devDependencies['tsx']);
  const offenders: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(ts|js)$/.test(entry.name) && /from ['"]tsx|import\(['"]tsx/.test(await readFile(join(root, path), 'utf8')))
        offenders.push(path);
    }
  };
  for (const dir of ['src', 'workers', 'machines']) await walk(dir);
  assert.deepEqual(offenders, []);
  // bin/par.js only falls back to tsx when dist/ is missing.
  const bin = await readFile(join(root, 'bin', 'par.js'), 'utf8');
  assert.ok(bin.indexOf('existsSync(compiled)') < bin.indexOf("import('tsx/esm/api')"), 'bin/par.js tries dist/ before tsx');
});
