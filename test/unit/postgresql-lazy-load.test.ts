/**
 * The `pg` driver is loaded on the first PostgreSQL task (its first connection), not when a
 * worker builds its action registry: checked in fresh node processes, one where pg loads (not in
 * the module cache before, in it after a connection to the test PostgreSQL) and one whose module
 * resolution refuses pg (the registry still builds; the first use fails with a clear error).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refuseModules, runFreshScript } from '../helpers/fresh-process.js';

const script = (block: boolean): string => `
import { createRequire } from 'node:module';
${block ? refuseModules("specifier === 'pg'", 'pg blocked') : ''}
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/pg/lib/'));
const { createActionRegistry } = await import('./src/actions/registry.ts');
const registry = createActionRegistry();
const registered = registry.fqns.includes('com.datadoghq.postgresql.select');
const before = loaded();
const { createPostgresqlBundle } = await import('./src/actions/postgresql/bundle.ts');
const bundle = createPostgresqlBundle();
const settings = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test', sslmode: 'disable', applicationName: 'par-lazy-load-test' };
const firstUse = await bundle.pools.acquire(settings).then(
  async (lease) => { const r = await lease.client.query('SELECT 1 AS one'); lease.release(false); return r.rows[0].one === 1 ? 'connected' : 'wrong answer'; },
  (e) => e.code + ': ' + e.message,
);
console.log(JSON.stringify({ registered, before, firstUse, after: loaded() }));
await bundle.close();
await registry.close();
`;

const run = (block: boolean): Promise<Record<string, unknown>> => runFreshScript(script(block));

describe('pg driver loading', () => {
  it('building the registry registers the PostgreSQL action without loading pg; the first connection loads it', async () => {
    assert.deepEqual(await run(false), { registered: true, before: false, firstUse: 'connected', after: true });
  });

  it('when pg cannot be loaded, the registry still builds and the first use fails saying so', async () => {
    const r = await run(true);
    assert.equal(r['registered'], true);
    assert.match(String(r['firstUse']), /^PAR_ERR_ACTION_FAILED: .*the PostgreSQL driver \(pg\) could not be loaded: .*pg blocked/);
  });
});
