/**
 * The web page: `GET /` (runner list) and `GET /runners/:id` (one runner) answer the same static
 * HTML shell; `GET /assets/<file>` serves its stylesheet and browser modules. No auth here: the
 * page holds no data, it asks for an application key and calls the JSON API with it.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import type { ControlPlaneDeps } from '../deps.js';
import { parseInput } from '../http-errors.js';
import { ASSET_PREFIX, loadWebAssets, type WebAsset } from '../web/assets.js';
import { WEB_SECURITY_HEADERS } from '../web/security-headers.js';

const fileParamsSchema = z.object({ file: z.string().max(100).regex(/^[a-z0-9-]+\.(js|css|svg)$/, 'not a page asset') });

function send(reply: FastifyReply, asset: WebAsset): FastifyReply {
  return reply.headers(WEB_SECURITY_HEADERS).type(asset.contentType).send(asset.body);
}

export function webRoutes(_deps: ControlPlaneDeps): FastifyPluginAsync {
  return async (app) => {
    const assets = await loadWebAssets();

    app.get('/', async (_request, reply) => send(reply, assets.page));
    app.get('/runners/:id', async (_request, reply) => send(reply, assets.page));

    app.get(`${ASSET_PREFIX}:file`, async (request, reply) => {
      const { file } = parseInput(fileParamsSchema, request.params, 'params');
      const asset = assets.files.get(file);
      if (!asset) throw new ParError('PAR_ERR_NOT_FOUND', `asset ${file}`);
      return send(reply, asset);
    });
  };
}
