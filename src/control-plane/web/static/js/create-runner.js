// "New runner": name + allowlist -> POST /runners -> the enrollment token and snippets.
import { api } from './api.js';
import { card, h, replaceChildren } from './dom.js';
import { enrollmentPanel } from './enrollment.js';

/** Allowlist entries may be separated by commas, spaces or new lines. */
function parseAllowlist(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Renders the creation form into `slot`; `onCreated(response)` runs after a successful create.
 * Errors from the API appear in the form (`fail` handles the key being refused).
 */
export function showCreateRunner(slot, { fail, onCreated }) {
  const name = h('input', { id: 'new-runner-name', name: 'name', required: true, placeholder: 'my-runner', spellcheck: 'false' });
  const allowlist = h('textarea', { id: 'new-runner-allowlist', name: 'allowlist', placeholder: 'com.datadoghq.http.request\ncom.datadoghq.kubernetes.core.*' });
  const error = h('p', { class: 'error-text', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create runner');
  const cancel = h('button', { type: 'button', class: 'button', onclick: () => replaceChildren(slot) }, 'Cancel');

  const form = h('form', { class: 'form-grid', 'data-testid': 'create-runner-form' },
    h('label', { for: 'new-runner-name' }, 'Name'), name,
    h('label', { for: 'new-runner-allowlist' }, 'Actions allowlist'),
    h('div', {}, allowlist, h('p', { class: 'muted small' }, 'One action or bundle per line (com.datadoghq.http.request, com.datadoghq.http.*). An empty list admits nothing.')),
    h('span'), h('div', { class: 'actions' }, submit, cancel, error));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    try {
      const created = await api('POST', '/runners', { name: name.value.trim(), allowlist: parseAllowlist(allowlist.value), modes: ['pull'] });
      replaceChildren(slot, enrollmentPanel(created.runner?.name ?? name.value.trim(), created.enrollment ?? created));
      onCreated(created);
    } catch (err) {
      if (err.badKey) return fail(err);
      error.textContent = `${err.message} (${err.code})`;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  replaceChildren(slot, card('New runner', null, form));
  name.focus();
}
