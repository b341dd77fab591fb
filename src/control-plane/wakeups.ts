/**
 * Wake-ups for long waits, over Redis pub/sub: ONE subscriber connection per process and an
 * in-memory map of waiters, so a thousand waiting dequeue calls cost one Redis connection and no
 * polling. Topics: `runner` (a runner got ready tasks) and `task` (a task got its final result).
 *
 * Use: `arm()` BEFORE checking Redis, then `wait()`: a message that lands between the check and
 * the wait is not lost, because the armed waiter already caught it.
 *
 * A `task` message carries the task's final fields (task-done-message.ts): the woken waiter finds
 * them in `final` and answers without reading the task back. Parsed once per message, and only
 * when someone waits for that task.
 *
 * The process that submits a task or records a result also wakes its own waiters directly
 * (`wakeRunner`, `wakeTask`): one Redis pub/sub hop less on the way of a task whose runner polls,
 * or whose client waits, on the same process.
 */
import { duplicateConnection, type Redis } from '../lib/redis-connection.js';
import type { Logger } from '../logging/logger.js';
import type { KeySpace } from './store/key-space.js';
import { parseTaskDone, taskDoneId, type TaskFinal } from './task-done-message.js';

export type WakeTopic = 'runner' | 'task';

export interface ArmedWait {
  /** Resolves true when woken, false on timeout, abort or shutdown. Returns at once if already woken. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Stops listening (always call it, in a finally). */
  cancel(): void;
  /** `task` waits: the final fields the wake-up message carried, once one did (final fields never change again). */
  readonly final: TaskFinal | undefined;
}

class Waiter implements ArmedWait {
  private fired = false;
  private settle: ((woken: boolean) => void) | undefined;
  final: TaskFinal | undefined;

  constructor(
    private readonly detach: (w: Waiter) => void,
    private readonly isClosed: () => boolean,
  ) {}

  fire(final?: TaskFinal): void {
    if (final) this.final = final;
    this.fired = true;
    this.settle?.(true);
  }

  /** Shutdown: release a pending wait without claiming a wake-up. */
  release(): void {
    this.settle?.(false);
  }

  /** Blocked in wait() right now. */
  get parked(): boolean {
    return this.settle !== undefined;
  }

  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve(true);
    }
    if (this.isClosed() || signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.settle = undefined;
        this.fired = false;
        resolve(woken);
      };
      this.settle = done;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  cancel(): void {
    this.release();
    this.detach(this);
  }
}

export class Wakeups {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  private constructor(
    private readonly subscriber: Redis,
    private readonly ks: KeySpace,
    private readonly logger: Logger,
  ) {}

  /** Opens the shared subscriber connection (a duplicate of `redis`) and subscribes. */
  static async start(redis: Redis, ks: KeySpace, logger: Logger): Promise<Wakeups> {
    const subscriber = duplicateConnection(redis);
    const hub = new Wakeups(subscriber, ks, logger);
    subscriber.on('message', (channel: string, message: string) => hub.onMessage(channel, message));
    subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'wake-up subscriber error'));
    let connectedOnce = false;
    subscriber.on('ready', () => {
      // Messages published while the subscriber was disconnected are lost: after a reconnect
      // every waiter re-checks Redis instead.
      if (connectedOnce) hub.wakeEveryone();
      connectedOnce = true;
    });
    await subscriber.connect();
    await subscriber.subscribe(ks.readyChannel, ks.doneChannel);
    return hub;
  }

  arm(topic: WakeTopic, id: string): ArmedWait {
    const key = `${topic}:${id}`;
    const waiter = new Waiter(
      (w) => this.detach(key, w),
      () => this.closed,
    );
    let set = this.waiters.get(key);
    if (!set) {
      set = new Set();
      this.waiters.set(key, set);
    }
    set.add(waiter);
    return waiter;
  }

  /** Number of armed waiters (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Number of waiters blocked in wait() right now, i.e. past their first look at Redis (for tests and metrics). */
  get parked(): number {
    let n = 0;
    for (const set of this.waiters.values()) for (const w of set) if (w.parked) n += 1;
    return n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Releases every pending wait and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) for (const w of set) w.release();
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }

  /**
   * Wakes THIS process's waiters at once for a runner that just got a task here, without waiting
   * for the message the script published to come back through Redis (it still wakes every other
   * process; here it finds the waiter already answered, or fires it once more, which is harmless:
   * a woken poll looks at Redis again, a woken task wait has its final view).
   */
  wakeRunner(runnerId: string): void {
    this.fire(`runner:${runnerId}`);
  }

  /** As `wakeRunner`, for a task this process just made final: its waiters answer from `final`. */
  wakeTask(taskId: string, final: TaskFinal): void {
    this.fire(`task:${taskId}`, () => final);
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.ks.readyChannel) this.fire(`runner:${message}`);
    else if (channel === this.ks.doneChannel) this.fire(`task:${taskDoneId(message)}`, () => parseTaskDone(message));
  }

  /** Fires every waiter of `key`; `final` is read only when there is one (a message is parsed only then). */
  private fire(key: string, final?: () => TaskFinal | undefined): void {
    const set = this.waiters.get(key);
    if (!set) return;
    const fields = final?.();
    for (const w of set) w.fire(fields);
  }

  private wakeEveryone(): void {
    this.logger.info({ waiters: this.size }, 'wake-up subscriber reconnected; waking every waiter to re-check');
    for (const set of this.waiters.values()) for (const w of set) w.fire();
  }

  private detach(key: string, w: Waiter): void {
    const set = this.waiters.get(key);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.waiters.delete(key);
  }
}
