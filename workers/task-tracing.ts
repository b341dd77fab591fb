/**
 * The worker's spans of one job (tracing, issue 11), all in the task's trace:
 *
 *   par.runner.intake (runner)
 *     ├─ par.queue.wait   the job in `tasks`, BullMQ enqueue (job.timestamp) -> start (job.processedOn); first run only
 *     └─ par.task.run     one run of the job (one BullMQ attempt), ends with the outcome
 *          ├─ par.task.state validating
 *          ├─ par.task.state resolvingCredentials
 *          └─ par.task.state executing ── the action's own spans (e.g. the HTTP client span)
 *
 * The lifecycle machine knows nothing of this: the worker watches the actor's snapshots
 * (`actor.subscribe`), ends the span of the state it left and starts the next one, and adds one
 * event per state to the run span. A state's span can be asked for before the snapshot arrives
 * (`contextFor`): XState starts a state's actor before notifying observers, and the action must
 * already have its parent.
 *
 * The parent is the runner's intake span (the job's `traceparent`), or, from a runner that does
 * not write it, the submission's (the signed task's). Spans carry ids, the action name, states,
 * outcome kinds and error codes: never inputs, outputs, credentials or error messages.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { AnyActorRef, Subscription } from 'xstate';
import type { TaskJobData } from '../src/contracts/jobs.js';
import { ATTR, SPAN } from '../src/tracing/attributes.js';
import { contextFromTraceparent, parTracer } from '../src/tracing/trace-context.js';

interface StateSnapshot {
  value: unknown;
  status: string;
  context?: { error?: { code?: string } | undefined; kind?: string | undefined } | undefined;
}

export class TaskRunTrace {
  private readonly run: Span;
  private readonly runContext: Context;
  private readonly states = new Map<string, Span>();
  private current: string | undefined;
  private ended = false;

  private constructor(
    private readonly taskId: string,
    parent: Context,
    attempt: number,
    action: string | undefined,
    startTime: number,
  ) {
    this.run = parTracer().startSpan(
      SPAN.run,
      {
        kind: SpanKind.CONSUMER,
        startTime,
        attributes: { [ATTR.taskId]: taskId, [ATTR.attempt]: attempt, ...(action ? { [ATTR.action]: action } : {}) },
      },
      parent,
    );
    this.runContext = trace.setSpan(ROOT_CONTEXT, this.run);
  }

  /**
   * Starts the run span (and, on the job's first run, the queue-wait span) of a job the worker
   * took at `startedAt`. `traceparent`: the intake span's, from the job's tagged payload;
   * `signedTraceparent`: the verified task's, used when the payload has none. A job refused at
   * admission has neither (nothing unchecked becomes a parent).
   */
  static start(
    job: Job<TaskJobData>,
    opts: {
      taskId: string;
      attempt: number;
      action?: string | undefined;
      startedAt: number;
      traceparent?: string | undefined;
      signedTraceparent?: string | undefined;
    },
  ): TaskRunTrace {
    const parent = contextFromTraceparent(opts.traceparent ?? opts.signedTraceparent);
    if (job.attemptsMade === 0 && typeof job.timestamp === 'number' && job.timestamp > 0) {
      const startedOn = typeof job.processedOn === 'number' && job.processedOn >= job.timestamp ? job.processedOn : opts.startedAt;
      parTracer()
        .startSpan(
          SPAN.queueWait,
          {
            kind: SpanKind.CONSUMER,
            startTime: job.timestamp,
            attributes: { [ATTR.taskId]: opts.taskId, 'messaging.system': 'bullmq', 'messaging.destination.name': job.queueName },
          },
          parent,
        )
        .end(startedOn);
    }
    return new TaskRunTrace(opts.taskId, parent, opts.attempt, opts.action, opts.startedAt);
  }

  /** Follows the lifecycle actor: one span per state it passes through. Subscribe before `start()`. */
  observe(actor: AnyActorRef): Subscription {
    return actor.subscribe({
      next: (snapshot: StateSnapshot) => this.onSnapshot(snapshot),
      error: () => this.leave(undefined, 'PAR_ERR_ACTION_FAILED'),
    });
  }

  /** The context of `state`'s span (started now if the snapshot has not arrived yet): the parent of the action's spans. */
  contextFor(state: string): Context {
    return trace.setSpan(ROOT_CONTEXT, this.stateSpan(state));
  }

  /** Ends the run span with the job's outcome (`handedBack`: the worker's drain gave the job back). */
  end(outcome: { kind: string; code?: string | undefined; retrying?: boolean; handedBack?: boolean }): void {
    if (this.ended) return;
    this.ended = true;
    this.leave(undefined, outcome.kind === 'succeeded' ? undefined : outcome.code);
    for (const span of this.states.values()) span.end(); // asked for (contextFor) but never entered
    this.states.clear();
    this.run.setAttribute(ATTR.outcome, outcome.handedBack ? 'handedBack' : outcome.retrying ? 'retrying' : outcome.kind);
    if (outcome.code) this.run.setAttribute(ATTR.errorCode, outcome.code);
    if (outcome.kind !== 'succeeded' && !outcome.handedBack)
      this.run.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code ?? outcome.kind });
    this.run.end();
  }

  private onSnapshot(snapshot: StateSnapshot): void {
    const state = typeof snapshot.value === 'string' ? snapshot.value : JSON.stringify(snapshot.value);
    if (state === this.current) return;
    const code = snapshot.context?.error?.code;
    this.leave(state, code);
    this.run.addEvent(`state ${state}`, {
      [ATTR.state]: state,
      ...(code && snapshot.status === 'done' && state !== 'succeeded' ? { [ATTR.errorCode]: code } : {}),
    });
    if (snapshot.status === 'done') return; // a final state: an event, not a span
    this.current = state;
    this.stateSpan(state);
  }

  /** Ends the span of the state being left; `errorCode` marks it failed when the next state is a failure. */
  private leave(next: string | undefined, errorCode: string | undefined): void {
    const previous = this.current;
    if (previous === undefined) return;
    this.current = next;
    const span = this.states.get(previous);
    if (!span) return;
    this.states.delete(previous);
    if (errorCode !== undefined && next !== 'succeeded') {
      span.setAttribute(ATTR.errorCode, errorCode);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
    }
    span.end();
  }

  private stateSpan(state: string): Span {
    let span = this.states.get(state);
    if (!span) {
      span = parTracer().startSpan(
        `${SPAN.state} ${state}`,
        { attributes: { [ATTR.taskId]: this.taskId, [ATTR.state]: state } },
        this.runContext,
      );
      this.states.set(state, span);
    }
    return span;
  }
}
