/**
 * The tasks of one chaos scenario: submitted through the public API with an Idempotency-Key each
 * (a submission cut off by a fault is retried with its key, so it never becomes two tasks), each
 * calling the execution target at `/exec/<scenario>/<n>`. Afterwards it waits (bounded) for every
 * task to be final and reads each task's view and history back from the control plane.
 */
import { ApiClient } from '../../src/cli/api-client.js';
import type { TaskEvent, TaskView } from '../../src/contracts/tasks-api.js';
import { ParError } from '../../src/errors/par-error.js';
import type { ChaosCluster } from './cluster.js';

export interface SubmittedTask {
  n: number;
  taskId: string;
}

export interface CollectedTask extends SubmittedTask {
  /** undefined: the control plane does not know the task (404). */
  view?: TaskView;
  events: TaskEvent[];
  executions: number;
  /** When the target first answered the task's request (epoch ms). */
  answeredAt?: number;
}

const HTTP = 'com.datadoghq.http.request';
const isFinal = (v: TaskView): boolean => v.state === 'succeeded' || v.state === 'failed';

/** Runs `fn` over `items` with at most `concurrency` at a time. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        await fn(items[i]!);
      }
    }),
  );
}

export class Workload {
  readonly submitted: SubmittedTask[] = [];
  private readonly api: ApiClient;
  private readonly final = new Set<string>();
  private readonly gone = new Set<string>();

  constructor(
    private readonly cluster: ChaosCluster,
    readonly scenario: string,
    private readonly runId: string,
  ) {
    const s = cluster.system;
    this.api = new ApiClient({ controlPlaneUrl: s.cpUrl, apiKey: s.keys.apiKey, appKey: s.keys.appKey });
  }

  /**
   * Submits `count` tasks, `concurrency` at a time; each retried with its key (100-500 ms apart)
   * until accepted or `perTaskBoundMs` passes, which fails the scenario loudly.
   */
  async submit(
    count: number,
    delayMs: (n: number) => number,
    options: { concurrency?: number; perTaskBoundMs?: number } = {},
  ): Promise<void> {
    const start = this.submitted.length;
    const ns = Array.from({ length: count }, (_v, i) => start + i);
    const bound = options.perTaskBoundMs ?? 120_000;
    await eachLimited(ns, options.concurrency ?? 8, async (n) => {
      const key = `chaos-${this.runId}-${this.scenario}-${n}`;
      const body = {
        runner: this.cluster.system.runnerName,
        action: HTTP,
        inputs: { verb: 'GET', url: `${this.cluster.target.url}/exec/${this.scenario}/${n}?ms=${Math.round(delayMs(n))}` },
        timeoutMs: 60_000,
      };
      const deadline = Date.now() + bound;
      let lastError: unknown;
      while (Date.now() < deadline) {
        try {
          const { task } = await this.api.submit(body, { idempotencyKey: key, timeoutMs: 10_000 });
          this.submitted.push({ n, taskId: task.id });
          return;
        } catch (error) {
          lastError = error;
          if (error instanceof ParError && error.httpStatus < 500 && error.code !== 'PAR_ERR_INTERNAL') throw error;
          await sleep(100 + Math.random() * 400); // a client's retry delay
        }
      }
      throw new Error(`[${this.scenario}] submission ${n} not accepted within ${bound} ms: ${String(lastError)}`);
    });
  }

  /** Tasks not final yet (as of the last poll). */
  pending(): SubmittedTask[] {
    return this.submitted.filter((t) => !this.final.has(t.taskId) && !this.gone.has(t.taskId));
  }

  /** One round: reads every pending task once; returns how many are still pending. */
  async poll(): Promise<number> {
    await eachLimited(this.pending(), 16, async (t) => {
      try {
        const v = await this.api.getTask(t.taskId);
        if (isFinal(v)) this.final.add(t.taskId);
      } catch (error) {
        if (error instanceof ParError && error.code === 'PAR_ERR_NOT_FOUND') this.gone.add(t.taskId);
        // anything else: the control plane is down right now; read again next round
      }
    });
    return this.pending().length;
  }

  /** Polls until every task is final or `deadline` (epoch ms); returns the ids still pending. */
  async settle(deadline: number): Promise<string[]> {
    for (;;) {
      const left = await this.poll();
      if (left === 0 || Date.now() >= deadline) return this.pending().map((t) => t.taskId);
      await sleep(Math.min(1_000, Math.max(0, deadline - Date.now())));
    }
  }

  /** Every task's view, history and execution count; the control plane must be up (bounded retries). */
  async collect(boundMs = 120_000): Promise<CollectedTask[]> {
    const deadline = Date.now() + boundMs;
    const out: CollectedTask[] = [];
    await eachLimited(this.submitted, 16, async (t) => {
      for (;;) {
        try {
          let view: TaskView | undefined;
          let events: TaskEvent[] = [];
          try {
            view = await this.api.getTask(t.taskId);
            events = await this.api.getTaskEvents(t.taskId);
          } catch (error) {
            if (!(error instanceof ParError && error.code === 'PAR_ERR_NOT_FOUND')) throw error;
          }
          const answeredAt = this.cluster.target.firstAnsweredAt(this.scenario, t.n);
          out.push({
            ...t,
            ...(view ? { view } : {}),
            events,
            executions: this.cluster.target.executions(this.scenario, t.n),
            ...(answeredAt !== undefined ? { answeredAt } : {}),
          });
          return;
        } catch (error) {
          if (Date.now() > deadline)
            throw new Error(`[${this.scenario}] cannot read task ${t.taskId} back within ${boundMs} ms: ${(error as Error).message}`, {
              cause: error,
            });
          await sleep(250);
        }
      }
    });
    return out.sort((a, b) => a.n - b.n);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
