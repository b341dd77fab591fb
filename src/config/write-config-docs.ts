/**
 * `npm run docs:config`: writes docs/configuration.md and .env.example from the settings schemas.
 * Run it after adding or changing a setting; test/unit/config-docs.test.ts fails until you do.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CONFIG_DOC_PATH, ENV_EXAMPLE_PATH, renderConfigurationDoc, renderEnvExample } from './settings-docs.js';

const root = new URL('../../', import.meta.url);
for (const [path, text] of [
  [CONFIG_DOC_PATH, renderConfigurationDoc()],
  [ENV_EXAMPLE_PATH, renderEnvExample()],
] as const) {
  await writeFile(new URL(path, root), text);
  process.stdout.write(`wrote ${fileURLToPath(new URL(path, root))}\n`);
}
