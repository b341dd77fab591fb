#!/usr/bin/env node
// Entry point of the `par` command. Runs the compiled JavaScript in dist/ (`npm run build`).
// Only when dist/ is missing AND tsx is installed (a development checkout with dev dependencies)
// does it load the TypeScript sources through tsx instead, and it says so on stderr. The
// production image ships dist/ and no tsx. Tests run the sources through test/helpers/par-source.js.
import { existsSync, readdirSync, statSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
// Probes run `par healthcheck` every few seconds: a short path that skips the rest of the CLI.
const healthcheck = process.argv[2] === 'healthcheck' && !process.argv.includes('--help') && !process.argv.includes('-h');
if (existsSync(compiled)) {
  if (!healthcheck) warnWhenStale();
  await import(healthcheck ? new URL('../dist/src/cli/healthcheck-entry.js', import.meta.url).href : compiled.href);
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write('par: dist/ is missing: run `npm run build` first (or `npm install` to get tsx and run from the sources)\n');
    process.exit(1);
  }
  process.stderr.write('par: dist/ is missing: running the TypeScript sources through tsx (slower start; `npm run build` to compile)\n');
  tsx.register();
  await import('../src/cli/main.ts');
}

/** In a checkout (sources beside dist/), says so when a source is newer than the build. The image has no sources. */
function warnWhenStale() {
  const stamp = new URL('../dist/.build-stamp', import.meta.url);
  const roots = ['../src/', '../workers/', '../machines/'].map((p) => new URL(p, import.meta.url)).filter((u) => existsSync(u));
  if (roots.length === 0) return;
  try {
    const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
    const newer = (dir) =>
      readdirSync(dir, { withFileTypes: true }).some((e) => {
        const path = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
        return e.isDirectory() ? newer(path) : statSync(path).mtimeMs > built;
      });
    if (roots.some(newer)) process.stderr.write('par: dist/ is older than the sources: run `npm run build` (npm start does)\n');
  } catch {
    // a check only
  }
}
