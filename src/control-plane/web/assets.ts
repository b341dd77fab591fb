/**
 * The web page's files (static/: the HTML shell, the stylesheet, the browser modules), read once
 * when the routes are built. The page is static on purpose: every dynamic value reaches the
 * browser through the JSON API and is put into the DOM as text, so the server templates nothing
 * and has nothing to escape.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** Where the browser fetches the assets; the browser modules import each other from here. */
export const ASSET_PREFIX = '/assets/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface WebAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface WebAssets {
  /** The HTML shell served for every page URL. */
  readonly page: WebAsset;
  /** By file name (`app.js`, `style.css`): only these names are ever served. */
  readonly files: ReadonlyMap<string, WebAsset>;
}

async function asset(path: string): Promise<WebAsset> {
  const contentType = CONTENT_TYPES[extname(path)];
  if (!contentType) throw new Error(`web asset with an unknown type: ${path}`);
  return { body: await readFile(path), contentType };
}

/** static/index.html is the page; static/*.{css,svg} and static/js/*.js are served flat under /assets/. */
export async function loadWebAssets(dir: string = WEB_STATIC_DIR): Promise<WebAssets> {
  const files = new Map<string, WebAsset>();
  for (const sub of ['', 'js']) {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      if (!entry.isFile() || entry.name === 'index.html') continue;
      if (files.has(entry.name)) throw new Error(`two web assets named ${entry.name}`);
      files.set(entry.name, await asset(join(dir, sub, entry.name)));
    }
  }
  return { page: await asset(join(dir, 'index.html')), files };
}
