/**
 * Events the runner enrollment machine accepts from outside. Everything else it reacts to is the
 * completion of its own actors (`xstate.done.actor.*`, `xstate.error.actor.*`) and its backoff
 * timer (`xstate.after.enrollBackoff.*`).
 */
export type RunnerEnrollmentEvent =
  /** Skip the rest of the current backoff wait and try to enroll now (operator nudge, tests). */
  { type: 'enrollment.retryNow' };

export const ENROLLMENT_MACHINE_ID = 'runnerEnrollment';
/** The event the backoff timer sends when it fires (XState names it after the delay and the state). */
export const ENROLL_BACKOFF_EVENT = `xstate.after.enrollBackoff.${ENROLLMENT_MACHINE_ID}.backingOff` as const;
