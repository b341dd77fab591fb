/**
 * Runs one program with an argv list: no shell (`shell: false`), stdin closed, a given
 * environment, stdout + stderr captured up to a byte cap. The child leads its own process group
 * (`detached: true`), so one `kill(-pid)` reaches everything it started: on timeout, abort or
 * output overflow the whole group gets SIGKILL, and after a normal exit any process the script
 * left behind in its group is killed too (a script's background processes do not outlive it).
 *
 * Sandboxed runs (`sandbox.ts`) launch bwrap as the program with `statusFd`: bwrap reports on
 * fd 3 as JSON, and only its `{"exit-code": N}` line says the script itself ran and exited; an
 * exit without it is bwrap failing to build the box or to exec the program (`sandboxFailed`).
 * Killing the group then reaches bwrap, whose death tears the box's PID namespace down, so every
 * process inside dies with it, including those that left the group with `setsid`.
 * `user` switches uid/gid (and drops supplementary groups) before exec; it needs root.
 *
 * Returns how the run ended; turning that into outputs or error codes is the caller's job.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';

export interface ProcessRequest {
  readonly program: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly maxOutputBytes: number;
  /** Aborting kills the process group; the `reason` says why (see `ProcessResult.ended`). */
  readonly signal: AbortSignal;
  readonly cwd?: string | undefined;
  /** Run as this uid/gid (the worker must be root). */
  readonly user?: { readonly uid: number; readonly gid: number } | undefined;
  /** The program is bwrap with `--json-status-fd 3`: read fd 3 to tell the script's exit from bwrap's. */
  readonly statusFd?: boolean | undefined;
}

export type ProcessEnd =
  | { readonly kind: 'exited'; readonly exitCode: number; readonly signal?: NodeJS.Signals | undefined }
  | { readonly kind: 'aborted'; readonly reason: unknown }
  | { readonly kind: 'outputTooLarge' }
  | { readonly kind: 'spawnFailed'; readonly error: NodeJS.ErrnoException }
  /** bwrap exited without running the program to its end: `message` is bwrap's own (paths, no values). */
  | { readonly kind: 'sandboxFailed'; readonly message: string };

export interface ProcessResult {
  readonly ended: ProcessEnd;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly durationMillis: number;
}

/** After the program exits, how long to wait for its pipes to close before giving up on them. */
const PIPE_DRAIN_MS = 2_000;

/** bwrap's status lines are short; more than this on fd 3 is not bwrap talking. */
const MAX_STATUS_BYTES = 64 * 1024;

/** bwrap's last `bwrap: ...` line (its own error), else a plain description. */
function sandboxMessage(stderr: Buffer, exitCode: number): string {
  const lines = stderr
    .toString('utf8')
    .split('\n')
    .filter((l) => l.startsWith('bwrap: '));
  const last = lines.at(-1);
  return last ? last.slice(0, 500) : `bwrap exited with code ${exitCode} before the program ran`;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Shell convention for a signal death, so callers always get a number. */
function signalExitCode(signal: NodeJS.Signals): number {
  const n = (osConstants.signals as Record<string, number | undefined>)[signal];
  return 128 + (n ?? 0);
}

export function runProcess(request: ProcessRequest): Promise<ProcessResult> {
  const startedAt = performance.now();
  return new Promise<ProcessResult>((resolvePromise) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let total = 0;
    let ended: ProcessEnd | undefined;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    if (request.signal.aborted) {
      resolvePromise({
        ended: { kind: 'aborted', reason: request.signal.reason },
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        durationMillis: 0,
      });
      return;
    }

    const child = spawn(request.program, [...request.args], {
      shell: false,
      detached: true,
      stdio: request.statusFd ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      env: { ...request.env },
      cwd: request.cwd,
      windowsHide: true,
      ...(request.user ? { uid: request.user.uid, gid: request.user.gid } : {}),
    });
    // Both are pipes by the stdio option above; the union type of `stdio` hides that from TypeScript.
    const out = child.stdout as Readable;
    const err = child.stderr as Readable;
    let status = '';
    const statusStream = request.statusFd ? child.stdio[3] : undefined;
    if (statusStream && 'on' in statusStream) {
      statusStream.on('data', (chunk: Buffer) => {
        if (status.length < MAX_STATUS_BYTES) status += chunk.toString('utf8');
      });
      statusStream.on('error', () => undefined);
    }

    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      request.signal.removeEventListener('abort', onAbort);
      let end: ProcessEnd = ended ?? { kind: 'exited', exitCode: 0 };
      const errBytes = Buffer.concat(stderr);
      // bwrap writes {"exit-code": N} only when the program ran and exited (a signal death is 128+N).
      if (request.statusFd && end.kind === 'exited' && !/"exit-code"\s*:/.test(status))
        end = { kind: 'sandboxFailed', message: sandboxMessage(errBytes, end.exitCode) };
      resolvePromise({
        ended: end,
        stdout: Buffer.concat(stdout),
        stderr: errBytes,
        durationMillis: Math.round(performance.now() - startedAt),
      });
    };

    // The first cause wins: an exit after our kill is the consequence, not the cause.
    const stop = (end: ProcessEnd) => {
      ended ??= end;
      killGroup(child.pid);
    };

    const onAbort = () => stop({ kind: 'aborted', reason: request.signal.reason });
    request.signal.addEventListener('abort', onAbort, { once: true });

    const collect = (sink: Buffer[]) => (chunk: Buffer) => {
      if (ended?.kind === 'outputTooLarge') return;
      const room = request.maxOutputBytes - total;
      if (chunk.length > room) {
        if (room > 0) sink.push(chunk.subarray(0, room));
        total = request.maxOutputBytes;
        stop({ kind: 'outputTooLarge' });
        return;
      }
      sink.push(chunk);
      total += chunk.length;
    };
    out.on('data', collect(stdout));
    err.on('data', collect(stderr));

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES, E2BIG...) come here with no exit event.
      if (child.pid === undefined) {
        ended ??= { kind: 'spawnFailed', error };
        finish();
      }
    });

    child.on('exit', (code, signal) => {
      ended ??= signal ? { kind: 'exited', exitCode: signalExitCode(signal), signal } : { kind: 'exited', exitCode: code ?? 0 };
      // Leftovers in the group (background jobs) would hold the pipes open: kill them.
      killGroup(child.pid);
      drainTimer = setTimeout(() => {
        // A process that left our group (setsid) still holds a pipe: stop reading it.
        out.destroy();
        err.destroy();
        if (statusStream && 'destroy' in statusStream) statusStream.destroy();
        finish();
      }, PIPE_DRAIN_MS);
      drainTimer.unref();
    });

    child.on('close', finish);
  });
}
