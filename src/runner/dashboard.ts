/**
 * The queue dashboard (bull-board and its UI) as its own fastify instance, built on the first
 * request to /queues (admin-server.ts) rather than at runner start: bull-board and what it pulls
 * in (lodash, valibot, ejs, @fastify/static) are a few MB of heap that most runners never use.
 * The dashboard masks task inputs, signatures and results (dashboard-masks.ts); it is read-only
 * unless PAR_DASHBOARD_READ_ONLY=false.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../logging/logger.js';
import { installDashboardMasks } from './dashboard-masks.js';

export async function buildDashboardApp(deps: {
  basePath: string;
  queues: readonly Queue[];
  readOnly: boolean;
  logger: Logger;
}): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app: FastifyInstance = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });
  const board = new FastifyAdapter();
  board.setBasePath(deps.basePath);
  createBullBoard({
    queues: deps.queues.map((q) =>
      installDashboardMasks(new BullMQAdapter(q, { readOnlyMode: deps.readOnly, allowRetries: !deps.readOnly }), q.name),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Runner queues' } },
  });
  await app.register(board.registerPlugin(), { prefix: deps.basePath });
  await app.ready();
  return app;
}
