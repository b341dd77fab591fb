// The build's fast path (`scripts/build.js --transpile-only`, used by `npm test`): every file that
// `tsc -p tsconfig.build.json` would emit, emitted one at a time with TypeScript's transpileModule
// and the same compiler options, so the JavaScript and source maps match tsc's (the project
// compiles with isolatedModules, which guarantees a file's output depends on that file alone). It
// checks no types: `npm test` runs `tsc --noEmit` over everything (scripts/check.js).
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { ROOT } from './build-state.js';

const ts = createRequire(import.meta.url)('typescript');

/** JSON files the sources import (`src/version.ts`): tsc copies them into outDir; so does this. */
const IMPORTED_JSON = ['package.json'];

/** Emits what `tsc -p <configPath>` would (default: the build's); JSON imports are copied from `root`. */
export function transpileAll(configPath = join(ROOT, 'tsconfig.build.json'), root = ROOT) {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: fail });
  if (!parsed) fail('cannot read tsconfig.build.json');
  if (parsed.errors.length > 0) fail(ts.formatDiagnostics(parsed.errors, host()));
  const { options, fileNames } = parsed;
  const outDir = options.outDir;
  const rootDir = options.rootDir;
  // NodeNext picks each file's format from package.json ("type": "module": ESM throughout), which
  // transpileModule cannot see; ESNext is that same ESM emit.
  const esm = { ...options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
  for (const file of fileNames) {
    if (file.endsWith('.d.ts') || file.endsWith('.json')) continue;
    const outFile = join(outDir, relative(rootDir, file)).replace(/\.ts$/, '.js');
    const out = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: esm, fileName: file, reportDiagnostics: true });
    if (out.diagnostics && out.diagnostics.length > 0) fail(ts.formatDiagnostics(out.diagnostics, host()));
    mkdirSync(dirname(outFile), { recursive: true });
    if (out.sourceMapText !== undefined) {
      const map = JSON.parse(out.sourceMapText);
      map.file = relative(dirname(outFile), outFile);
      map.sources = [relative(dirname(outFile), file)];
      writeFileSync(`${outFile}.map`, JSON.stringify(map));
    }
    writeFileSync(outFile, out.outputText);
  }
  for (const json of IMPORTED_JSON) copyFileSync(join(root, json), join(outDir, relative(rootDir, join(root, json))));
}

function host() {
  return { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
}

function fail(message) {
  process.stderr.write(`build: ${typeof message === 'string' ? message : ts.flattenDiagnosticMessageText(message.messageText, '\n')}\n`);
  process.exit(1);
}
