// How values look on the page: runner statuses, task states, times.
import { badge } from './dom.js';

/** Without a health report (older control planes) a runner's status follows its last call. */
const OFFLINE_AFTER_MS = 30_000;

const STATUS_LABELS = {
  ready: 'Ready',
  unhealthy: 'Unhealthy',
  offline: 'Offline',
  never_connected: 'Never connected',
};

export function runnerStatus(runner) {
  if (runner.status && STATUS_LABELS[runner.status]) return runner.status;
  const seen = runner.health?.receivedAt ?? runner.lastSeenAt;
  if (seen === undefined) return 'never_connected';
  return Date.now() - seen < OFFLINE_AFTER_MS ? 'ready' : 'offline';
}

export function statusBadge(runner) {
  const status = runnerStatus(runner);
  return badge(status, STATUS_LABELS[status], 'runner-status');
}

const STATE_LABELS = { queued: 'Queued', leased: 'Running', succeeded: 'Succeeded', failed: 'Failed', cancelled: 'Cancelled' };

export function taskStateBadge(task) {
  const known = Object.hasOwn(STATE_LABELS, task.state);
  return badge(known ? task.state : 'unknown', known ? STATE_LABELS[task.state] : String(task.state), 'task-state');
}

export function runnerVersion(runner) {
  return runner.health?.version ?? runner.version ?? '';
}

/** The allowlist the runner last reported (live config), else the one it enrolled with. */
export function runnerAllowlist(runner) {
  return runner.health?.allowlist ?? runner.allowlist ?? [];
}

export function lastSeen(runner) {
  const a = runner.health?.receivedAt;
  const b = runner.lastSeenAt;
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

export function isoTime(ms) {
  return ms === undefined ? '' : new Date(ms).toISOString();
}

export function relativeTime(ms) {
  if (ms === undefined) return 'never';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

export function duration(ms) {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `com.datadoghq.http.request` -> `http.request`: the vendor prefix is the same everywhere. */
export function shortAction(fqn) {
  return String(fqn).replace(/^com\.datadoghq\./, '');
}

export function pretty(value) {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}
