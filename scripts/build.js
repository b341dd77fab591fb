#!/usr/bin/env node
// `npm run build`: compiles src/, machines/ and workers/ to dist/ (tsc -p tsconfig.build.json),
// copies the files read at run time that tsc does not emit (the web page's static assets, the Lua
// scripts), and
// writes dist/.build-stamp last, so a half-finished build is never taken as complete.
// `--if-stale` (used by `npm start`) builds only when dist/ is missing or older than a source.
// `--transpile-only` (used by `npm test`, which type-checks everything in scripts/check.js anyway)
// emits each file on its own with the same compiler (transpile-only.js): the same JavaScript,
// since the project compiles with isolatedModules, in a tenth of the time.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ASSETS, DIST, ROOT, STAMP, isStale } from './build-state.js';
import { transpileAll } from './transpile-only.js';

function build() {
  rmSync(DIST, { recursive: true, force: true });
  if (process.argv.includes('--transpile-only')) {
    transpileAll();
  } else {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (result.status !== 0) {
      process.stderr.write('build: tsc failed\n');
      process.exit(result.status ?? 1);
    }
  }
  for (const [from, to] of ASSETS) cpSync(join(ROOT, from), join(ROOT, to), { recursive: true });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

if (process.argv.includes('--if-stale')) {
  if (isStale()) {
    process.stderr.write('build: dist/ is missing or older than the sources; building (npm run build)\n');
    build();
  }
} else {
  build();
}
