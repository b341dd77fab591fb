/**
 * The queue dashboard (bull-board, its UI and what they pull in) is loaded on the first request
 * under /queues, not when the runner builds its admin server: checked in fresh node processes,
 * one whose module resolution refuses bull-board (the dashboard answers 500 naming the failure,
 * the other routes answer) and one where it loads (not in the module cache before, served after).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { refuseModules, runFreshScript } from '../helpers/fresh-process.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const script = (block: boolean): string => `
import { createRequire } from 'node:module';
${block ? refuseModules("specifier.startsWith('@bull-board/')", 'bull-board blocked') : ''}
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/@bull-board/'));
const { Queue } = await import('bullmq');
const { buildAdminApp } = await import('./src/runner/admin-server.ts');
const { createRootLogger } = await import('./src/logging/logger.ts');
const queue = new Queue('tasks', { connection: { url: ${JSON.stringify(TEST_REDIS_URL)} }, prefix: ${JSON.stringify(uniquePrefix('dashboard-lazy'))} });
const app = buildAdminApp({ queues: [queue], readOnly: true, readiness: {}, logger: createRootLogger({ process: 'runner', level: 'silent' }) });
await app.ready();
const before = loaded();
const healthz = (await app.inject('/healthz')).statusCode;
const page = await app.inject('/queues');
const api = await app.inject('/queues/api/queues?activeQueue=tasks&status=latest&page=1&jobsPerPage=5');
console.log(JSON.stringify({ before, healthz, page: page.statusCode, pageBody: page.body.slice(0, 200), api: api.statusCode, after: loaded() }));
await app.close();
// The dashboard's reads leave the queue's meta key: remove every key of this queue (the shared Redis stays clean).
await queue.obliterate({ force: true });
await queue.close();
`;

const run = (block: boolean): Promise<Record<string, unknown>> => runFreshScript(script(block));

describe('queue dashboard loading', () => {
  it('building the admin server does not load bull-board; the first request under /queues does, and the dashboard answers', async () => {
    const r = await run(false);
    assert.equal(r['before'], false);
    assert.equal(r['healthz'], 200);
    assert.equal(r['page'], 200);
    assert.match(String(r['pageBody']), /<!DOCTYPE html>/i);
    assert.equal(r['api'], 200);
    assert.equal(r['after'], true);
  });

  it('when bull-board cannot be loaded, /queues answers 500 saying so and the other routes still answer', async () => {
    const r = await run(true);
    assert.equal(r['healthz'], 200);
    assert.equal(r['page'], 500);
    assert.match(String(r['pageBody']), /the queue dashboard could not be loaded: .*bull-board blocked/);
    assert.equal(r['api'], 500);
    assert.equal(r['after'], false);
  });
});
