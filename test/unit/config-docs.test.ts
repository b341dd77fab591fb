import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROCESS_SETTINGS, allSettingNames } from '../../src/config/settings-catalogue.js';
import { objectShape } from '../../src/config/setting-info.js';
import {
  CONFIG_DOC_PATH,
  ENV_EXAMPLE_PATH,
  REGENERATE_HINT,
  renderConfigurationDoc,
  renderEnvExample,
  undescribedSettings,
} from '../../src/config/settings-docs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Environment variables the code reads or names that are not settings, each with its reason.
 * Anything else named PAR_* / DD_* (or read from an environment) must be some setting's source.
 */
const NOT_SETTINGS: Readonly<Record<string, string>> = {
  PATH: 'where binaries are looked up; passed on to children and scripts as is',
  HOME: 'passed on to the processes `par start` spawns',
  NODE_ENV: 'passed on to the processes `par start` spawns; no behaviour of ours depends on it',
  PAR_BIN: 'the name of a constant (the path of bin/par.js) in src/cli/dev-orchestrator.ts, not a variable',
};
/** Prefixes of variables read by libraries, not by our settings. */
const NOT_SETTING_PREFIXES: Readonly<Record<string, string>> = {
  OTEL_: 'the OpenTelemetry SDK reads its own standard variables',
};

test('docs/configuration.md and .env.example are generated from the schemas (no drift)', async () => {
  const doc = await readFile(join(ROOT, CONFIG_DOC_PATH), 'utf8').catch(() => '');
  assert.ok(doc === renderConfigurationDoc(), `${CONFIG_DOC_PATH} differs from the settings schemas: ${REGENERATE_HINT}`);
  const env = await readFile(join(ROOT, ENV_EXAMPLE_PATH), 'utf8').catch(() => '');
  assert.ok(env === renderEnvExample(), `${ENV_EXAMPLE_PATH} differs from the settings schemas: ${REGENERATE_HINT}`);
});

test('every setting says what it is for (.describe) and is reachable by a variable or a flag', () => {
  assert.deepEqual(undescribedSettings(), [], "add .describe('one sentence') to these settings' schemas, then run `npm run docs:config`");
  for (const p of PROCESS_SETTINGS) {
    const keys = Object.keys(objectShape(p.schema));
    for (const key of keys) {
      assert.ok(
        (p.sources[key]?.length ?? 0) > 0 || p.flags[key] !== undefined,
        `${p.title}: setting ${key} has no environment variable and no flag`,
      );
    }
    for (const key of Object.keys(p.sources))
      assert.ok(keys.includes(key), `${p.title}: the sources name ${key}, which the schema does not have`);
  }
});

test('the generated docs name every variable of every setting, secrets blank in .env.example', () => {
  const doc = renderConfigurationDoc();
  const env = renderEnvExample();
  for (const name of allSettingNames()) assert.ok(doc.includes(`\`${name}\``), `${name} missing from ${CONFIG_DOC_PATH}`);
  assert.match(env, /^# PAR_CP_PORT=7700$/m);
  assert.match(env, /^# PAR_DASHBOARD_READ_ONLY=true$/m);
  assert.match(env, /^# PAR_ADMIN_API_KEY=$/m);
  assert.match(env, /^# PAR_RUNNER_IDENTITY=$/m);
  for (const line of env.split('\n')) assert.ok(line === '' || line.startsWith('#'), `.env.example sets something: ${line}`);
});

async function codeFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map(async (e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : codeFiles(path);
      return /\.(ts|js|mjs|cjs)$/.test(e.name) ? [path] : [];
    }),
  );
  return files.flat();
}

test('every environment variable the code reads or names is a documented setting (or a listed non-setting)', async () => {
  const settings = allSettingNames();
  const isKnown = (name: string): boolean =>
    settings.has(name) || name in NOT_SETTINGS || Object.keys(NOT_SETTING_PREFIXES).some((p) => name.startsWith(p));
  const unknown: string[] = [];
  const files = (await Promise.all(['src', 'workers', 'machines', 'bin'].map((d) => codeFiles(join(ROOT, d))))).flat();
  assert.ok(files.length > 50, 'the scan found the source files');
  const read = /\b(?:process\.env|env)\s*(?:\[\s*['"`]([A-Za-z_][A-Za-z0-9_]*)['"`]\s*\]|\.([A-Z_][A-Z0-9_]*)\b)/g;
  const named = /\b((?:PAR|DD)_[A-Z0-9_]*[A-Z0-9])\b/g;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const where = relative(ROOT, file);
    for (const m of text.matchAll(read)) {
      const name = (m[1] ?? m[2]) as string;
      if (!isKnown(name)) unknown.push(`${where}: reads ${name}`);
    }
    for (const m of text.matchAll(named)) {
      const name = m[1] as string;
      if (name.startsWith('PAR_ERR_')) continue; // error codes
      if (!isKnown(name)) unknown.push(`${where}: names ${name}`);
    }
  }
  assert.deepEqual(
    [...new Set(unknown)],
    [],
    'add these to a settings schema in src/config/ (with .describe) and its sources, or to NOT_SETTINGS here with the reason',
  );
});

test('the README points to the generated configuration reference', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  assert.ok(readme.includes('(docs/configuration.md)'), 'README links docs/configuration.md');
});
