// The runner list (GET /): status, version, allowlist, connections and recent tasks per runner.
import { api, enc, optionalApi } from './api.js';
import { showCreateRunner } from './create-runner.js';
import { deleteMessage, deleteRunnerControl } from './delete-runner.js';
import { card, h, replaceChildren, table } from './dom.js';
import { isoTime, lastSeen, relativeTime, runnerAllowlist, runnerVersion, shortAction, statusBadge, taskStateBadge } from './format.js';

const REFRESH_MS = 10_000;
const RECENT_TASKS = 3;
/** Recent tasks are fetched per runner; beyond this many runners the column stays empty. */
const MAX_RUNNERS_WITH_TASKS = 50;
const MAX_CHIPS = 4;

function allowlistChips(runner) {
  const list = runnerAllowlist(runner);
  if (list.length === 0) return h('span', { class: 'muted' }, 'nothing allowed');
  const shown = list.slice(0, MAX_CHIPS).map((a) => h('span', { class: 'chip' }, a));
  const more = list.length > MAX_CHIPS ? h('span', { class: 'chip', title: list.slice(MAX_CHIPS).join('\n') }, `+${list.length - MAX_CHIPS} more`) : null;
  return h('div', { class: 'chips', 'data-testid': 'runner-allowlist' }, shown, more);
}

function recentTasks(tasks) {
  if (tasks === undefined) return h('span', { class: 'muted' }, '—');
  if (tasks.length === 0) return h('span', { class: 'muted' }, 'none yet');
  return h('div', { class: 'recent', 'data-testid': 'recent-tasks' }, tasks.map((t) =>
    h('div', { class: 'recent-task', title: `${t.action}\n${t.id}\n${isoTime(t.createdAt)}` },
      taskStateBadge(t), h('span', { class: 'mono' }, shortAction(t.action)), h('span', { class: 'muted small' }, relativeTime(t.createdAt)))));
}

async function loadRecentTasks(runners) {
  const byRunner = new Map();
  let available = true;
  await Promise.all(runners.slice(0, MAX_RUNNERS_WITH_TASKS).map(async (r) => {
    const res = await optionalApi('GET', `/tasks?runnerId=${enc(r.id)}&limit=${RECENT_TASKS}`);
    if (res === undefined) available = false;
    else byRunner.set(r.id, res.tasks);
  }));
  return { byRunner, available };
}

export async function showRunnerList(view, ctx) {
  const createSlot = h('div');
  const tableSlot = h('div', {}, h('p', { class: 'muted' }, 'Loading runners…'));
  const note = h('p', { class: 'muted small', hidden: true });
  const newButton = ctx.can.createRunner
    ? h('button', { type: 'button', class: 'button primary', 'data-testid': 'new-runner', onclick: () => showCreateRunner(createSlot, { fail: ctx.fail, onCreated: () => void refresh() }) }, 'New runner')
    : null;
  const refreshButton = h('button', { type: 'button', class: 'button', onclick: () => void refresh() }, 'Refresh');

  replaceChildren(view,
    h('div', { class: 'page-head' }, h('h1', {}, 'Runners'), h('div', { class: 'actions' }, refreshButton, newButton)),
    createSlot,
    card('All runners you can see', null, tableSlot, note));

  let timer;
  // A user halfway through deleting (confirm shown, or an answer to read) keeps the table as is.
  const busy = () => tableSlot.querySelector('[data-testid="confirm-delete"], [data-testid="force-delete"], tr.row-note:not([hidden])') !== null;
  const refresh = async (automatic = false) => {
    clearTimeout(timer);
    if (automatic && busy()) {
      timer = setTimeout(() => void refresh(true), REFRESH_MS);
      return;
    }
    let runners;
    let tasks;
    try {
      ({ runners } = await api('GET', '/runners'));
      tasks = await loadRecentTasks(runners);
    } catch (err) {
      // A control plane that is briefly away is retried; a refused key stops the refreshing.
      if (err.status === 0) timer = setTimeout(() => void refresh(true), REFRESH_MS);
      return ctx.fail(err);
    }
    const columns = ['Name', 'Status', 'Version', 'Allowlist', 'Connections', 'Recent tasks', 'Last seen', ''];
    const rows = runners
      .slice()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => {
        const message = deleteMessage('div');
        const noteRow = h('tr', { class: 'row-note', 'data-runner-name': r.name, hidden: true }, h('td', { colspan: columns.length }, message.el));
        const row = h('tr', { 'data-testid': 'runner-row', 'data-runner-id': r.id, 'data-runner-name': r.name },
          h('td', { class: 'col-name' }, h('a', { href: `/runners/${enc(r.id)}`, 'data-testid': 'runner-link' }, r.name)),
          h('td', {}, statusBadge(r)),
          h('td', { class: 'mono' }, runnerVersion(r)),
          h('td', {}, allowlistChips(r)),
          h('td', { class: 'num', 'data-testid': 'runner-connections' }, r.connections ?? '—'),
          h('td', {}, recentTasks(tasks.byRunner.get(r.id))),
          h('td', { class: 'nowrap', title: isoTime(lastSeen(r)) }, relativeTime(lastSeen(r))),
          h('td', { class: 'col-actions' }, ctx.can.editRunner(r)
            ? deleteRunnerControl(r, { fail: ctx.fail, onMessage: message.show(noteRow), onDeleted: (d) => { ctx.notify(`Runner ${d.name} deleted. Its identity no longer works.`); void refresh(); } })
            : null));
        return [row, noteRow];
      });
    replaceChildren(tableSlot, table(columns, rows,
      'No runner yet. Create one, or enroll one with par runner --with-api-key.', 'runner-table'));
    note.hidden = tasks.available;
    note.textContent = tasks.available ? '' : 'Recent tasks are not available from this control plane.';
    timer = setTimeout(() => void refresh(true), REFRESH_MS);
  };
  await refresh();
}
