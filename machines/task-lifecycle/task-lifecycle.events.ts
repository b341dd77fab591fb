/**
 * Events the task lifecycle machine accepts from outside. Everything else it reacts to is the
 * completion of its own actors (`xstate.done.actor.*`, `xstate.error.actor.*`) and its deadline
 * timer (`xstate.after.deadline.*`).
 */
export type TaskLifecycleEvent =
  /** Stop the task: the running actor's signal aborts and the outcome is `cancelled`. */
  { type: 'task.cancel'; reason?: string };

/** Actor ids, which are also the suffixes of their done/error event types. */
export const TASK_LIFECYCLE_ACTOR_IDS = {
  validateTask: 'validateTask',
  resolveCredentials: 'resolveCredentials',
  executeAction: 'executeAction',
} as const;

export const TASK_LIFECYCLE_MACHINE_ID = 'taskLifecycle';
/** The event the deadline timer sends when it fires (XState names it after the delay and the state). */
export const DEADLINE_EVENT = `xstate.after.deadline.${TASK_LIFECYCLE_MACHINE_ID}.executing` as const;
