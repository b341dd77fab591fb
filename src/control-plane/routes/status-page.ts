/**
 * `GET /`: a tiny plain HTML page listing runners. No auth, so it shows nothing secret: names,
 * ids and last-seen times only. The real web UI is a later issue.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ControlPlaneDeps } from '../deps.js';
import { listRunners } from '../store/runners.js';

/** A runner counts as Ready when it called in within this window (it long-polls far more often). */
const READY_WITHIN_MS = 90_000;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export function statusPageRoutes(deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/', async (_request, reply) => {
      const runners = await listRunners(deps.redis, deps.ks);
      const now = deps.now();
      const rows = runners.map((r) => {
        const seen = r.lastSeenAt !== undefined ? new Date(r.lastSeenAt).toISOString() : 'never';
        const status = r.lastSeenAt !== undefined && now - r.lastSeenAt < READY_WITHIN_MS ? 'Ready' : 'Not seen recently';
        return `<tr><td>${escapeHtml(r.name)}</td><td><code>${escapeHtml(r.id)}</code></td><td>${status}</td><td>${seen}</td></tr>`;
      });
      const body = rows.length > 0 ? rows.join('\n') : '<tr><td colspan="4">No runner enrolled yet.</td></tr>';
      const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Private action runners</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>
</head><body><h1>Private action runners</h1>
<table><thead><tr><th>Name</th><th>Id</th><th>Status</th><th>Last seen</th></tr></thead>
<tbody>
${body}
</tbody></table></body></html>
`;
      return reply.type('text/html; charset=utf-8').send(html);
    });
  };
}
