/**
 * The one place where the script bundle turns what went wrong into an error code, and so decides
 * what is retryable: only a worker short of processes, file descriptors or memory is worth
 * another attempt. Everything else (bad config, unknown script, bad parameters, missing program,
 * non-zero exit, too much output) will fail the same way again.
 *
 * Messages name scripts, files and exit codes. The stderr tail of a failed script is included:
 * it is the script's own output, already returned to the caller on success.
 */
import { ParError } from '../../errors/par-error.js';
import type { ProcessEnd } from './process-runner.js';

/** spawn errors that say "try again later" rather than "this cannot work". */
const BUSY_CODES: ReadonlySet<string> = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM']);

export const STDERR_TAIL_CHARS = 1_000;

export interface ScriptFailureContext {
  /** The script's name in the config. */
  readonly script: string;
  /** The task's signal (deadline or cancel from the lifecycle). */
  readonly taskSignal: AbortSignal;
  /** The `timeout` input's own signal, if any. */
  readonly timeoutSignal?: AbortSignal | undefined;
  /** The `timeout` input, in seconds. */
  readonly timeoutSeconds?: number | undefined;
  readonly maxOutputBytes: number;
}

export function stderrTail(stderr: string): string {
  const trimmed = stderr.trimEnd();
  return trimmed.length > STDERR_TAIL_CHARS ? `...${trimmed.slice(-STDERR_TAIL_CHARS)}` : trimmed;
}

/** A run that did not end with an exit: why it stopped, as an error. */
export function classifyProcessEnd(end: Exclude<ProcessEnd, { kind: 'exited' }>, ctx: ScriptFailureContext): ParError {
  switch (end.kind) {
    case 'aborted':
      // Which signal fired matters: the lifecycle's (deadline/cancel) or the action's own timeout.
      if (ctx.taskSignal.aborted) return new ParError('PAR_ERR_TASK_CANCELLED', `script ${ctx.script}: stopped, process group killed`);
      // The vendor's wording, so workflows matching on it keep working.
      return new ParError(
        'PAR_ERR_TASK_TIMEOUT',
        `script ${ctx.script}: script execution timed out after ${ctx.timeoutSeconds ?? '?'} seconds, process group killed`,
      );
    case 'outputTooLarge':
      return new ParError(
        'PAR_ERR_SCRIPT_OUTPUT_TOO_LARGE',
        `script ${ctx.script}: more than ${ctx.maxOutputBytes} bytes on stdout + stderr, process group killed`,
      );
    case 'spawnFailed': {
      const code = end.error.code ?? 'error';
      if (BUSY_CODES.has(code)) return new ParError('PAR_ERR_SCRIPT_SPAWN_BUSY', `script ${ctx.script}: ${code}`, { cause: end.error });
      if (code === 'E2BIG')
        return new ParError(
          'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
          `script ${ctx.script}: the rendered arguments are too long for the system (E2BIG)`,
        );
      const what = code === 'ENOENT' ? 'program not found' : code === 'EACCES' ? 'program not executable' : code;
      return new ParError('PAR_ERR_SCRIPT_SPAWN_FAILED', `script ${ctx.script}: ${what}`, { cause: end.error });
    }
    case 'sandboxFailed':
      // bwrap's own message: paths from the operator's config and the box, no parameter values.
      return new ParError('PAR_ERR_SCRIPT_SANDBOX_FAILED', `script ${ctx.script}: the sandbox could not run the program: ${end.message}`);
  }
}

export function exitError(script: string, exitCode: number, stderr: string): ParError {
  const tail = stderrTail(stderr);
  return new ParError('PAR_ERR_SCRIPT_EXIT_NONZERO', `script ${script}: exit code ${exitCode}${tail ? `; stderr: ${tail}` : ''}`);
}

/** Anything unexpected thrown while running a script action. */
export function classifyScriptError(error: unknown, script: string): ParError {
  if (error instanceof ParError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && BUSY_CODES.has(code))
    return new ParError('PAR_ERR_SCRIPT_SPAWN_BUSY', `script ${script}: ${code}`, { cause: error });
  return new ParError(
    'PAR_ERR_ACTION_FAILED',
    `script ${script}: ${typeof code === 'string' ? code : error instanceof Error ? error.name : 'error'}`,
    { cause: error },
  );
}
