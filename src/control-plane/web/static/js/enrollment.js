// The one-time enrollment token of a new runner and the four ways to start the runner with it.
import { card, copyButton, h } from './dom.js';
import { isoTime } from './format.js';

const SNIPPETS = [
  ['dockerRun', 'docker run'],
  ['compose', 'Docker Compose'],
  ['kubernetes', 'Kubernetes (Kustomize overlay on deploy/kubernetes)'],
  ['parRunner', 'par runner (Node.js on this host)'],
];

/** `enrollment`: `{token, expiresAt, snippets: {dockerRun, compose, kubernetes, parRunner}}`. */
export function enrollmentPanel(runnerName, enrollment) {
  const snippets = enrollment.snippets ?? {};
  const known = new Set(SNIPPETS.map(([key]) => key));
  const extra = Object.keys(snippets).filter((key) => !known.has(key)).map((key) => [key, key]);
  const blocks = [...SNIPPETS, ...extra]
    .filter(([key]) => typeof snippets[key] === 'string')
    .map(([key, label]) => h('div', { class: 'snippet', 'data-testid': `snippet-${key}` },
      h('div', { class: 'snippet-head' }, h('h3', {}, label), copyButton(snippets[key])),
      h('pre', {}, snippets[key])));
  const panel = card(`Enroll ${runnerName}`,
    h('button', { type: 'button', class: 'button small', 'data-testid': 'close-enrollment', onclick: () => panel.remove() }, 'Done'),
    h('p', { class: 'muted' },
      'This token enrolls the runner once and expires ',
      h('span', { 'data-testid': 'token-expires' }, isoTime(enrollment.expiresAt)),
      '. It is shown only now: copy it or one of the snippets.'),
    h('div', { class: 'secret' }, h('code', { 'data-testid': 'enrollment-token' }, enrollment.token), copyButton(enrollment.token)),
    blocks);
  return panel;
}
