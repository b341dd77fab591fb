#!/usr/bin/env node
// Entry point of the `par` command. Runs the compiled JavaScript in dist/ (`npm run build`).
// Only when dist/ is missing AND tsx is installed (a development checkout with dev dependencies)
// does it load the TypeScript sources through tsx instead, and it says so on stderr. The
// production image ships dist/ and no tsx. Tests run the sources through test/helpers/par-source.js.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
// Probes run `par healthcheck` every few seconds: a short path that skips the rest of the CLI.
const healthcheck = process.argv[2] === 'healthcheck' && !process.argv.includes('--help') && !process.argv.includes('-h');
if (existsSync(compiled)) {
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
