// DOM building for the page. Nothing here ever parses HTML: every string becomes a text node or
// an attribute value, so data from the API (runner names, allowlists, task outputs) cannot
// inject markup or script.

/**
 * Creates an element. `attrs`: `class`, `on<event>` handlers, `hidden`/`disabled` booleans,
 * `href` (same-origin paths only) and plain attributes; children are nodes or text.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = String(value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'href') el.setAttribute('href', sameOriginPath(String(value)));
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  appendAll(el, children);
  return el;
}

export function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Empties `el` and fills it with `children`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
}

/** Links only ever point inside this control plane (no javascript: or foreign URLs). */
function sameOriginPath(path) {
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

export function badge(kind, label, testId) {
  return h('span', { class: `badge ${kind}`, 'data-testid': testId }, label);
}

export function card(title, headActions, ...body) {
  return h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', {}, title), headActions ?? null),
    ...body);
}

/** A table with a header row; `rows` are <tr> elements; `empty` shows when there are none. */
export function table(headers, rows, empty, testId) {
  const body = rows.length > 0 ? rows : [h('tr', {}, h('td', { class: 'empty', colspan: headers.length }, empty))];
  return h('div', { class: 'table-wrap' }, h('table', { 'data-testid': testId },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, body)));
}

/** A button that copies `text` to the clipboard and says so. */
export function copyButton(text, label = 'Copy') {
  const button = h('button', { type: 'button', class: 'button small' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy';
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
  return button;
}
