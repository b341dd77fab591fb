/**
 * The message a Lua script publishes on the done channel when it makes a task final
 * (src/lib/lua/includes/task-done.lua): `v1 <id> <state> <attempts> <finishedAt> <outcome JSON>`,
 * i.e. every field of the task's view that changes after submission. A woken waiter answers
 * from it without reading the task back. A bare id (an outcome over MAX_INLINE_OUTCOME, or an
 * older publisher) or a message that does not parse wakes the waiters all the same; they then
 * read the task from Redis as before.
 */
import { FINAL_TASK_STATES, taskOutcomeSchema, type TaskOutcome, type TaskState } from '../contracts/task.js';

/** Outcomes longer than this (JSON characters) are not inlined; keep in step with task-done.lua. */
export const MAX_INLINE_OUTCOME = 16_384;

const VERSION = 'v1 ';
const DIGITS = /^\d{1,16}$/;

/** The final fields of a task's view, as the message carries them. */
export interface TaskFinal {
  state: TaskState;
  attempts: number;
  finishedAt: number;
  outcome: TaskOutcome;
}

/** The task id a done message is about (cheap: no parsing of the rest). */
export function taskDoneId(message: string): string {
  if (!message.startsWith(VERSION)) return message;
  const end = message.indexOf(' ', VERSION.length);
  return end < 0 ? message.slice(VERSION.length) : message.slice(VERSION.length, end);
}

/** The final fields a done message carries; undefined for a bare id or anything malformed. */
export function parseTaskDone(message: string): TaskFinal | undefined {
  if (!message.startsWith(VERSION)) return undefined;
  const fields: string[] = [];
  let at = VERSION.length;
  for (let i = 0; i < 4; i += 1) {
    const end = message.indexOf(' ', at);
    if (end < 0) return undefined;
    fields.push(message.slice(at, end));
    at = end + 1;
  }
  const [, state, attemptsText, finishedAtText] = fields as [string, string, string, string];
  const final = FINAL_TASK_STATES.find((s) => s === state);
  if (final === undefined || !DIGITS.test(attemptsText) || !DIGITS.test(finishedAtText)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(message.slice(at));
  } catch {
    return undefined;
  }
  const outcome = taskOutcomeSchema.safeParse(json);
  if (!outcome.success) return undefined;
  return { state: final, attempts: Number(attemptsText), finishedAt: Number(finishedAtText), outcome: outcome.data };
}
