// The "Delete" control of a runner: ask, delete, and when connections still use the runner,
// say which and offer to delete anyway (the API's `?force=true`). The control itself stays
// small (it sits in a table cell); what the API answered goes to `onMessage(text | undefined)`,
// which the caller shows where there is room (a full-width row under the runner, a header line).
import { api, enc } from './api.js';
import { h, replaceChildren } from './dom.js';

export function deleteRunnerControl(runner, { fail, onDeleted, onMessage, size = 'small' }) {
  const wrap = h('span', { class: 'confirm' });
  const cls = (extra) => `button danger ${extra} ${size === 'small' ? 'small' : ''}`;
  const say = (text) => onMessage(text);

  const idle = () => {
    say(undefined);
    replaceChildren(wrap, h('button', { type: 'button', class: cls(''), 'data-testid': 'delete-runner', onclick: ask }, 'Delete'));
  };

  const ask = () => replaceChildren(wrap,
    h('button', { type: 'button', class: cls('solid'), 'data-testid': 'confirm-delete', onclick: () => run(false) }, 'Confirm delete'),
    h('button', { type: 'button', class: 'button small', onclick: idle }, 'Cancel'));

  const run = async (force) => {
    replaceChildren(wrap, h('span', { class: 'muted' }, 'Deleting…'));
    try {
      await api('DELETE', `/runners/${enc(runner.id)}${force ? '?force=true' : ''}`);
      say(undefined);
      onDeleted(runner);
    } catch (err) {
      if (err.badKey || err.forbidden) {
        idle();
        return fail(err);
      }
      const inUse = err.code === 'PAR_ERR_RUNNER_IN_USE' && !force;
      say(inUse ? `${err.message}. Deleting anyway leaves those connections pointing at no runner.` : `${err.message} (${err.code})`);
      replaceChildren(wrap,
        inUse ? h('button', { type: 'button', class: cls('solid'), 'data-testid': 'force-delete', onclick: () => run(true) }, 'Delete anyway') : null,
        h('button', { type: 'button', class: 'button small', onclick: idle }, inUse ? 'Cancel' : 'OK'));
    }
  };

  idle();
  return wrap;
}

/** An alert element and the `onMessage` that fills it (and shows `container`, default itself). */
export function deleteMessage(tag = 'p') {
  const el = h(tag, { class: 'error-text delete-message', role: 'alert', 'data-testid': 'delete-message' });
  return {
    el,
    show(container = el) {
      return (text) => {
        el.textContent = text ?? '';
        container.hidden = text === undefined;
      };
    },
  };
}
