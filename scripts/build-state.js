// Whether dist/ is current: shared by scripts/build.js (`--if-stale`) and the tests, which run the
// compiled processes when dist/ is current and the TypeScript sources through tsx otherwise.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
export const STAMP = join(DIST, '.build-stamp');
const SOURCE_DIRS = ['src', 'machines', 'workers'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Run-time assets tsc does not emit: [from, to] relative to the root. */
export const ASSETS = [
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
