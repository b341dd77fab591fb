import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERROR_CODES } from '../../src/errors/codes.js';

// docs/errors.md is the user-facing table of every error code; it must list exactly the
// registry's codes, with the same retryable flag and HTTP status.
test('docs/errors.md and the error-code registry list the same codes with the same properties', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { retryable: string; status: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(PAR_ERR_[A-Z0-9_]+)`\s*\|\s*(yes|no)\s*\|\s*(\d{3})\s*\|/.exec(line);
    if (m) rows.set(m[1]!, { retryable: m[2]!, status: m[3]! });
  }
  const registry = Object.entries(ERROR_CODES);
  assert.deepEqual(
    [...rows.keys()].sort(),
    registry.map(([code]) => code).sort(),
    'codes differ between docs/errors.md and src/errors/codes.ts',
  );
  for (const [code, spec] of registry) {
    const row = rows.get(code)!;
    assert.equal(row.retryable, spec.retryable ? 'yes' : 'no', `${code}: retryable`);
    assert.equal(row.status, String(spec.httpStatus), `${code}: HTTP status`);
  }
});

test('every code is PAR_ERR_ followed by upper-case words', () => {
  for (const code of Object.keys(ERROR_CODES)) assert.match(code, /^PAR_ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/);
});
