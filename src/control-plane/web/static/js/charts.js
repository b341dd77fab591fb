// The runner page's charts, drawn as inline SVG by this module (no chart library, no external
// asset). Data: GET /api/v1/runners/:id/stats (per-minute results by outcome, p50/p99 latency).
// Colours come from classes in style.css (the CSP allows no inline style). Every mark carries
// data-* attributes with its numbers, which the browser tests read.
import { h } from './dom.js';
import { duration } from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 150;
const PAD = { left: 48, right: 8, top: 10, bottom: 20 };

/** An SVG element; attribute values and text become attributes and text nodes only. */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const OUTCOME_LABELS = { succeeded: 'Succeeded', failed: 'Failed', timedOut: 'Timed out', cancelled: 'Cancelled', rejected: 'Rejected', expired: 'Expired' };

function clockTime(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function frame(testId, label, yMaxLabel, points) {
  const plotBottom = HEIGHT - PAD.bottom;
  const first = points[0];
  const last = points[points.length - 1];
  return s('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': label, 'data-testid': testId },
    s('line', { x1: PAD.left, y1: plotBottom, x2: WIDTH - PAD.right, y2: plotBottom, class: 'chart-axis' }),
    s('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: plotBottom, class: 'chart-axis' }),
    s('text', { x: PAD.left - 4, y: PAD.top + 8, class: 'chart-label', 'text-anchor': 'end' }, yMaxLabel),
    s('text', { x: PAD.left - 4, y: plotBottom, class: 'chart-label', 'text-anchor': 'end' }, '0'),
    first ? s('text', { x: PAD.left, y: HEIGHT - 4, class: 'chart-label' }, clockTime(first.at)) : null,
    last ? s('text', { x: WIDTH - PAD.right, y: HEIGHT - 4, class: 'chart-label', 'text-anchor': 'end' }, clockTime(last.at)) : null);
}

/** Stacked bars: results per minute by outcome. */
export function outcomesChart(stats) {
  const points = stats.points;
  const max = Math.max(1, ...points.map((p) => p.total));
  const svg = frame('chart-outcomes', 'Results per minute by outcome', String(max), points);
  svg.setAttribute('data-total', String(stats.totals.total));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, points.length);
  points.forEach((p, i) => {
    let y = HEIGHT - PAD.bottom;
    for (const outcome of stats.outcomes) {
      const n = p.counts[outcome] ?? 0;
      if (n === 0) continue;
      const hgt = (n / max) * plotH;
      y -= hgt;
      svg.append(s('rect', {
        x: (PAD.left + i * slot + slot * 0.1).toFixed(1), y: y.toFixed(1), width: Math.max(1, slot * 0.8).toFixed(1), height: hgt.toFixed(1),
        class: `bar bar-${outcome}`, 'data-outcome': outcome, 'data-count': n, 'data-at': p.at,
      }, s('title', {}, `${clockTime(p.at)}: ${n} ${OUTCOME_LABELS[outcome] ?? outcome}`)));
    }
  });
  const legend = h('div', { class: 'chart-legend' }, stats.outcomes.map((o) => h('span', { class: 'legend-item', 'data-testid': `legend-${o}` },
    h('span', { class: `swatch bar-${o}` }), `${OUTCOME_LABELS[o] ?? o} ${stats.totals.counts[o] ?? 0}`)));
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, 'Tasks per minute by outcome'), svg, legend);
}

/** Lines: submit -> result p50 and p99 per minute (minutes without results are gaps). */
export function latencyChart(stats) {
  const points = stats.points;
  const max = Math.max(1, ...points.flatMap((p) => [p.p50Ms ?? 0, p.p99Ms ?? 0]));
  const svg = frame('chart-latency', 'Submit to result latency, p50 and p99', duration(max), points);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, points.length);
  for (const series of ['p99', 'p50']) {
    const key = `${series}Ms`;
    let run = [];
    const flush = () => {
      if (run.length > 1) svg.append(s('polyline', { points: run.join(' '), class: `line line-${series}` }));
      run = [];
    };
    points.forEach((p, i) => {
      const v = p[key];
      if (v === null || v === undefined) { flush(); return; }
      const x = PAD.left + i * slot + slot / 2;
      const y = HEIGHT - PAD.bottom - (v / max) * plotH;
      run.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      svg.append(s('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, class: `dot line-${series}`, 'data-series': series, 'data-value': v, 'data-at': p.at },
        s('title', {}, `${clockTime(p.at)}: ${series} ${duration(v)}`)));
    });
    flush();
  }
  const t = stats.totals;
  const legend = h('div', { class: 'chart-legend' },
    h('span', { class: 'legend-item', 'data-testid': 'legend-p50' }, h('span', { class: 'swatch line-p50' }), `p50 ${t.p50Ms === null ? '—' : duration(t.p50Ms)}`),
    h('span', { class: 'legend-item', 'data-testid': 'legend-p99' }, h('span', { class: 'swatch line-p99' }), `p99 ${t.p99Ms === null ? '—' : duration(t.p99Ms)}`));
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, 'Submit → result, p50 / p99'), svg, legend);
}

/** Both charts, or a line saying there is nothing to draw yet. */
export function statsCharts(stats) {
  const note = h('p', { class: 'muted small' }, `Last ${stats.window}, per minute. p50/p99 are estimated from fixed latency buckets.`);
  if (stats.totals.total === 0) return h('div', { 'data-testid': 'charts-empty' }, h('p', { class: 'muted' }, 'No task finished on this runner in the last hour.'), note);
  return h('div', {}, h('div', { class: 'charts' }, outcomesChart(stats), latencyChart(stats)), note);
}
