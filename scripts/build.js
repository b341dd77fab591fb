#!/usr/bin/env node
// `npm run build`: compiles src/, machines/ and workers/ to dist/ (tsc -p tsconfig.build.json),
// copies the files read at run time that tsc does not emit (the web page's static assets, the Lua
// scripts), and
// writes dist/.build-stamp last, so a half-finished build is never taken as complete.
// `--if-stale` (used by `npm start`) builds only when dist/ is missing or older than a source.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.build-stamp');
const SOURCE_DIRS = ['src', 'machines', 'workers'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Run-time assets tsc does not emit: [from, to] relative to the root. */
const ASSETS = [
  ['src/control-plane/web/static', 'dist/src/control-plane/web/static'],
  ['src/lib/lua', 'dist/src/lib/lua'],
];

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function isStale() {
  if (!existsSync(STAMP)) return true;
  const built = statSync(STAMP).mtimeMs;
  const inputs = [...SOURCE_DIRS, ...SOURCE_FILES].map((p) => join(ROOT, p)).filter((p) => existsSync(p));
  return inputs.some((p) => newestMtime(p) > built);
}

function build() {
  rmSync(DIST, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('build: tsc failed\n');
    process.exit(result.status ?? 1);
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
