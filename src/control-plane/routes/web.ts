/**
 * The web page: `GET /` (runner list) and `GET /runners/:id` (one runner) answer the same static
 * HTML shell; `GET /assets/<file>` serves its stylesheet and browser modules. No auth here: the
 * page holds no data, it asks for an application key and calls the JSON API with it.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import type { ControlPlaneDeps } from '../deps.js';
import { ASSET_PREFIX, loadWebAssets, type WebAsset } from '../web/assets.js';
import { WEB_SECURITY_HEADERS } from '../web/security-headers.js';

const fileParamsSchema = z.object({
  file: z
    .string()
    .max(100)
    .regex(/^[a-z0-9-]+\.(js|css|svg)$/, 'not a page asset'),
});

function send(reply: FastifyReply, asset: WebAsset): FastifyReply {
  return reply.headers(WEB_SECURITY_HEADERS).type(asset.contentType).send(asset.body);
}

/**
 * The page is not part of the API: its routes are left out of the OpenAPI document (`hide`), and
 * listed in WEB_ROUTES so the test that checks the document covers every other route says so.
 */
export const WEB_ROUTES = ['GET /', 'GET /runners/:id', `GET ${ASSET_PREFIX}:file`] as const;

export function webRoutes(_deps: ControlPlaneDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const assets = await loadWebAssets();

    app.get('/', { schema: { hide: true } }, async (_request, reply) => send(reply, assets.page));
    app.get('/runners/:id', { schema: { hide: true } }, async (_request, reply) => send(reply, assets.page));

    app.get(`${ASSET_PREFIX}:file`, { schema: { hide: true, params: fileParamsSchema } }, async (request, reply) => {
      const { file } = request.params;
      const asset = assets.files.get(file);
      if (!asset) throw new ParError('PAR_ERR_NOT_FOUND', `asset ${file}`);
      return send(reply, asset);
    });
  };
}
