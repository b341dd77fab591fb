/**
 * How a `par` process starts another `par` process (the dev orchestrator's children): the same
 * code it runs itself. From dist/ (this module compiled to .js) that is dist/src/cli/main.js run
 * by plain node; from the sources (a dev checkout through tsx, this module is .ts) it is
 * src/cli/main.ts through `node --import tsx`. Never a mix, and never tsx in production.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface SelfCommand {
  command: string;
  /** Arguments before the `par` sub-command and its own arguments. */
  args: string[];
}

export function parSelfCommand(moduleUrl: string = import.meta.url): SelfCommand {
  const fromSources = moduleUrl.endsWith('.ts');
  const main = fileURLToPath(new URL(fromSources ? './main.ts' : './main.js', moduleUrl));
  return { command: process.execPath, args: fromSources ? ['--import', tsxLoader(), main] : [main] };
}

/** tsx's loader as an absolute URL, so the child finds it whatever its working directory. */
function tsxLoader(): string {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch {
    return 'tsx';
  }
}
