/**
 * The worker's end of cancellation (contracts/jobs.ts): a subscriber on the runner's cancel
 * channel that aborts a task running on this worker (BullMQ's `worker.cancelJob`, which aborts the
 * processor's AbortSignal: the lifecycle goes to `cancelled`, the action's signal aborts, a script's
 * process group is killed), and the marker read the task processor does before running a job, for
 * cancels that arrived before the job started here.
 */
import { duplicateConnection, type Redis } from '../src/lib/redis-connection.js';
import { cancelChannel, cancelMarkerKey } from '../src/contracts/jobs.js';
import type { Logger } from '../src/logging/logger.js';

/** The abort reason of a user's cancel (the outcome's error message). */
export const CANCEL_ABORT_REASON = 'cancelled on the control plane';

export class CancelListener {
  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly queuePrefix: string,
  ) {}

  /** Subscribed when this resolves: start the BullMQ Worker only after it, so no message can be missed. */
  static async start(redis: Redis, queuePrefix: string, onCancel: (taskId: string) => void, logger: Logger): Promise<CancelListener> {
    const subscriber = duplicateConnection(redis);
    subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'cancel subscriber Redis error'));
    const channel = cancelChannel(queuePrefix);
    subscriber.on('message', (from: string, taskId: string) => {
      if (from === channel && taskId.length > 0) onCancel(taskId);
    });
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    return new CancelListener(redis, subscriber, queuePrefix);
  }

  /** Whether the runner forwarded a cancel for this task (read before running it). */
  async isCancelled(taskId: string): Promise<boolean> {
    return (await this.redis.exists(cancelMarkerKey(this.queuePrefix, taskId))) === 1;
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
