/**
 * Baseline: bare BullMQ no-op jobs/s on the same Redis, as many workers x concurrency as the
 * system under bench, so the end-to-end figure can be read as a ratio measured in the same run.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { connectRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { type BenchPhase } from './phase.js';

export function bareBullmqPhase(options: { jobs: number; workers: number; concurrency: number }): BenchPhase {
  return {
    name: 'bare BullMQ baseline',
    timeoutMs: 120_000,
    async run(ctx) {
      const prefix = uniquePrefix('bench-bare');
      const connections: Redis[] = [];
      const connect = (): Redis => {
        const c = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
        connections.push(c);
        return c;
      };
      const queue = new Queue('noop', { connection: connect(), prefix });
      const workers = Array.from(
        { length: options.workers },
        () =>
          new Worker('noop', () => Promise.resolve(null), {
            connection: connect(),
            prefix,
            concurrency: options.concurrency,
            removeOnComplete: { count: 0 },
          }),
      );
      try {
        let done = 0;
        let finish: () => void = () => undefined;
        const allDone = new Promise<void>((r) => {
          finish = r;
        });
        for (const w of workers)
          w.on('completed', () => {
            if (++done === options.jobs) finish();
          });
        await Promise.all(workers.map((w) => w.waitUntilReady()));
        const started = performance.now();
        for (let i = 0; i < options.jobs; i += 500) {
          await queue.addBulk(
            Array.from({ length: Math.min(500, options.jobs - i) }, (_, k) => ({
              name: 'noop',
              data: { i: i + k },
              opts: { jobId: `j${i + k}`, removeOnComplete: true },
            })),
          );
        }
        await allDone;
        const jobsPerSecond = options.jobs / ((performance.now() - started) / 1000);
        ctx.figures.set('baseline.jobsPerSecond', jobsPerSecond);
        ctx.rows.push({
          metric: 'bare BullMQ no-op jobs/s',
          value: jobsPerSecond.toFixed(0),
          note: `${options.jobs} jobs, ${options.workers} workers x ${options.concurrency}`,
        });
      } finally {
        await Promise.all(workers.map((w) => w.close(true)));
        await queue.close();
        // BullMQ leaves connections it was handed open: close them, or the process never exits.
        for (const c of connections) c.disconnect();
        const redis = connectRedis();
        try {
          await deleteKeys(redis, prefix);
        } finally {
          redis.disconnect();
        }
      }
    },
  };
}
