/**
 * Reading V8 CPU profiles (`node --cpu-prof`) of the system's processes: the self time of every
 * sample inside a time window, grouped by where the code lives (an npm package, one of our
 * folders, a Node.js built-in, the garbage collector, native code), so the bench can say where a
 * task's CPU goes. Profile timestamps are V8 TimeTicks in microseconds, the monotonic clock that
 * `process.hrtime` reads too, so a window measured in the bench process selects samples of others.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Microseconds on the clock profiles use. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Where a frame's code lives: `pkg:<name>`, our folder, `node:<module>`, `(gc)`, `(program)`, `(native built-ins)`. */
export function categoryOf(frame: ProfileNode['callFrame']): string {
  if (frame.functionName === '(garbage collector)') return '(gc)';
  if (frame.functionName === '(program)') return '(program)';
  if (frame.url === '') return '(native built-ins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url);
  if (pkg) return `pkg:${pkg[1]!}`;
  // node:net, node:events; node:internal/streams/readable -> node:internal/streams
  if (frame.url.startsWith('node:'))
    return frame.url
      .split('/')
      .slice(0, frame.url.startsWith('node:internal/') ? 2 : 1)
      .join('/');
  const ours = /\/(?:dist\/)?((?:src|workers|machines)\/[^/]+)/.exec(frame.url);
  if (ours) return ours[1]!.replace(/\.[jt]s$/, '');
  return frame.url;
}

export interface ProfileSummary {
  /** CPU milliseconds sampled in the window (idle samples left out). */
  busyMs: number;
  /** Category -> milliseconds, largest first. */
  byCategory: [string, number][];
}

/** Self time per category of the samples taken between `fromUs` and `toUs` (monotonic microseconds). */
export function summariseProfile(path: string, fromUs: number, toUs: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const category = new Map<number, string>();
  for (const node of profile.nodes) category.set(node.id, node.callFrame.functionName === '(idle)' ? '(idle)' : categoryOf(node.callFrame));
  const totals = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    // A sample's time is the delta to the next one (the interval it stands for).
    const span = profile.timeDeltas[i + 1] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const c = category.get(profile.samples[i]!) ?? '(unknown)';
    if (c === '(idle)') continue;
    totals.set(c, (totals.get(c) ?? 0) + span / 1000);
  }
  const byCategory = [...totals.entries()].sort((a, b) => b[1] - a[1]);
  return { busyMs: byCategory.reduce((a, [, ms]) => a + ms, 0), byCategory };
}
