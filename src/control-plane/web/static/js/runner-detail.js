// A runner's page (GET /runners/:id): facts, its tasks with results, connections and grants.
import { api, enc, optionalApi } from './api.js';
import { statsCharts } from './charts.js';
import { deleteMessage, deleteRunnerControl } from './delete-runner.js';
import { badge, card, h, replaceChildren, table } from './dom.js';
import { enrollmentPanel } from './enrollment.js';
import { duration, isoTime, lastSeen, pretty, relativeTime, runnerAllowlist, runnerStatus, runnerVersion, statusBadge, taskStateBadge } from './format.js';

const TASK_LIMIT = 50;

function facts(runner) {
  const health = runner.health;
  const rows = [
    ['ID', h('code', {}, runner.id)],
    ['URN', h('code', {}, runner.urn ?? '')],
    ['Version', runnerVersion(runner)],
    ['Platform', health?.platform ?? '—'],
    ['Load', health ? `${health.inFlight} running of ${health.capacity}` : '—'],
    ['Modes', (runner.modes ?? []).join(', ')],
    ['Allowlist', runnerAllowlist(runner).length > 0
      ? h('div', { class: 'chips', 'data-testid': 'runner-allowlist' }, runnerAllowlist(runner).map((a) => h('span', { class: 'chip' }, a)))
      : h('span', { class: 'muted' }, 'nothing allowed')],
    ['Created', h('span', { title: isoTime(runner.createdAt) }, relativeTime(runner.createdAt))],
    ['Last seen', h('span', { title: isoTime(lastSeen(runner)) }, relativeTime(lastSeen(runner)))],
    ['Your access', runner.access ? badge('access', runner.access, 'runner-access') : '—'],
  ];
  if (health?.problems?.length) rows.push(['Problems', h('ul', {}, health.problems.map((p) => h('li', {}, p)))]);
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function outcomeView(task) {
  const outcome = task.outcome;
  if (!outcome) return h('span', { class: 'muted' }, task.state === 'leased' ? 'running…' : 'waiting');
  const body = outcome.error
    ? h('div', {}, h('div', { class: 'error-text' }, h('code', {}, outcome.error.code), ' ', outcome.error.message),
      outcome.output !== undefined ? h('pre', {}, pretty(outcome.output)) : null)
    : h('pre', { 'data-testid': 'task-output' }, pretty(outcome.output));
  return h('details', { 'data-testid': 'task-result' },
    h('summary', {}, `Result: ${outcome.kind} in ${duration(outcome.durationMs)} (${outcome.attempts} attempt${outcome.attempts === 1 ? '' : 's'})`),
    body);
}

function taskRows(tasks) {
  return tasks.map((t) => h('tr', { 'data-testid': 'task-row', 'data-task-id': t.id },
    h('td', { title: isoTime(t.createdAt) }, relativeTime(t.createdAt)),
    h('td', {}, h('code', {}, t.action), h('div', { class: 'muted small mono' }, t.id)),
    h('td', {}, taskStateBadge(t)),
    h('td', { class: 'num' }, t.attempts),
    h('td', {}, outcomeView(t))));
}

/** Loads one optional panel; a missing route or a refusal is said inside the panel. */
async function panel(title, load, render, testId) {
  const body = h('div', { 'data-testid': testId });
  try {
    const data = await load();
    if (data === undefined) replaceChildren(body, h('p', { class: 'muted' }, `${title}: not available from this control plane.`));
    else replaceChildren(body, render(data));
  } catch (err) {
    replaceChildren(body, h('p', { class: 'error-text' }, `${err.message} (${err.code})`));
  }
  return card(title, null, body);
}

function connectionsTable({ connections }) {
  return table(['Name', 'Integration', 'Credential file', 'Settings', 'Updated'], connections.map((c) => h('tr', { 'data-testid': 'connection-row' },
    h('td', {}, c.name, h('div', { class: 'muted small mono' }, c.id)),
    h('td', {}, c.integration),
    h('td', { class: 'mono' }, c.credentialPath ?? '—'),
    h('td', {}, Object.keys(c.settings ?? {}).length > 0 ? h('pre', {}, pretty(c.settings)) : h('span', { class: 'muted' }, 'none')),
    h('td', { title: isoTime(c.updatedAt) }, relativeTime(c.updatedAt)))), 'No connection uses this runner.', 'connections-table');
}

function grantForm(runner, reload, fail) {
  const type = h('select', { name: 'type' }, ['user', 'team', 'role', 'service_account'].map((t) => h('option', { value: t }, t)));
  const id = h('input', { name: 'id', required: true, placeholder: 'id, or role name', class: 'principal-id' });
  const role = h('select', { name: 'role' }, ['viewer', 'contributor', 'editor', 'none'].map((r) => h('option', { value: r }, r)));
  const error = h('span', { class: 'error-text', hidden: true });
  const form = h('form', { class: 'inline-form', 'data-testid': 'grant-form' }, type, id, role,
    h('button', { type: 'submit', class: 'button' }, 'Set access'), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await api('PUT', `/runners/${enc(runner.id)}/grants`, { principal: { type: type.value, id: id.value.trim() }, role: role.value });
      await reload();
    } catch (err) {
      if (err.badKey) return fail(err);
      error.textContent = `${err.message} (${err.code})`;
      error.hidden = false;
    }
  });
  return h('div', {}, h('p', { class: 'muted small' }, 'Give a user, team, role or service account access to this runner (none removes it).'), form);
}

/** Principal id -> name, from whichever directory lists this key may read (best effort). */
async function principalNames() {
  const names = new Map();
  const lists = [['/users', 'users', 'user'], ['/teams', 'teams', 'team'], ['/service-accounts', 'serviceAccounts', 'service_account']];
  await Promise.all(lists.map(async ([path, field, type]) => {
    try {
      for (const p of (await optionalApi('GET', path))?.[field] ?? []) names.set(`${type}:${p.id}`, p.name);
    } catch {
      // A key that may not list principals still sees the grants, by id.
    }
  }));
  return names;
}

function principalCell(principal, names) {
  const name = names.get(`${principal.type}:${principal.id}`);
  if (principal.type === 'role' || name === undefined) return h('td', { class: 'mono' }, principal.id);
  return h('td', {}, name, h('div', { class: 'muted small mono' }, principal.id));
}

async function grantsPanel(runner, ctx) {
  const slot = h('div');
  const namesLoaded = principalNames();
  const reload = async () => {
    const names = await namesLoaded;
    const fresh = await panel('Access', () => optionalApi('GET', `/runners/${enc(runner.id)}/grants`), ({ grants }) =>
      table(['Principal', 'Type', 'Access'], grants.map((g) => h('tr', { 'data-testid': 'grant-row' },
        principalCell(g.principal, names), h('td', {}, g.principal.type.replace('_', ' ')), h('td', {}, badge('access', g.role)))),
      'No explicit grant: only org admins can see this runner.', 'grants-table'), 'grants');
    if (ctx.can.editRunner(runner)) fresh.append(grantForm(runner, reload, ctx.fail));
    replaceChildren(slot, fresh);
  };
  await reload();
  return slot;
}

function headerActions(runner, ctx, tokenSlot, message) {
  if (!ctx.can.editRunner(runner)) return null;
  const onDeleted = (d) => {
    ctx.notify(`Runner ${d.name} deleted. Its identity no longer works.`);
    replaceChildren(document.getElementById('view'), card('Runner deleted', null, h('p', {}, h('a', { href: '/' }, 'Back to all runners'))));
  };
  const newToken = runnerStatus(runner) === 'never_connected'
    ? h('button', { type: 'button', class: 'button', 'data-testid': 'new-token', onclick: async () => {
      try {
        const res = await optionalApi('POST', `/runners/${enc(runner.id)}/enrollment-token`, {});
        replaceChildren(tokenSlot, res === undefined
          ? h('p', { class: 'muted' }, 'Enrollment tokens are not available from this control plane.')
          : enrollmentPanel(runner.name, res.enrollment ?? res));
      } catch (err) {
        ctx.fail(err);
      }
    } }, 'New enrollment token')
    : null;
  return h('div', { class: 'actions' }, newToken, deleteRunnerControl(runner, { fail: ctx.fail, onDeleted, onMessage: message.show(), size: 'normal' }));
}

export async function showRunnerDetail(view, ctx, runnerId) {
  replaceChildren(view, h('p', { class: 'muted' }, 'Loading runner…'));
  let runner;
  try {
    runner = await api('GET', `/runners/${enc(runnerId)}`);
  } catch (err) {
    if (err.status === 404) {
      replaceChildren(view, card('Runner not found', null, h('p', {}, 'No such runner, or you may not see it. ', h('a', { href: '/' }, 'All runners'))));
      return;
    }
    return ctx.fail(err);
  }
  document.title = `${runner.name} · Private action runners`;
  const tokenSlot = h('div');
  const message = deleteMessage();
  message.el.hidden = true;
  const [activity, tasks, connections, grants] = await Promise.all([
    panel('Activity', () => optionalApi('GET', `/runners/${enc(runner.id)}/stats?window=1h`), statsCharts, 'activity'),
    panel('Tasks', () => optionalApi('GET', `/tasks?runnerId=${enc(runner.id)}&limit=${TASK_LIMIT}`),
      ({ tasks: list }) => table(['Created', 'Action', 'State', 'Attempts', 'Result'], taskRows(list), 'No task has run on this runner yet.', 'tasks-table'), 'tasks'),
    panel('Connections', () => optionalApi('GET', `/connections?runnerId=${enc(runner.id)}`), connectionsTable, 'connections'),
    grantsPanel(runner, ctx),
  ]);
  replaceChildren(view,
    h('p', {}, h('a', { href: '/' }, '← All runners')),
    h('div', { class: 'page-head' },
      h('div', { class: 'title' }, h('h1', { 'data-testid': 'runner-name' }, runner.name), statusBadge(runner)),
      headerActions(runner, ctx, tokenSlot, message)),
    message.el,
    tokenSlot,
    card('Runner', null, facts(runner)),
    activity, tasks, connections, grants);
}
