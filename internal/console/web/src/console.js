// The web console's one script. The pages are rendered on the server; this
// bundle adds htmx (fragments re-fetched on live events), uPlot charts, log
// tails, the theme switch, keyboard shortcuts and a few small helpers.
//
// The pages are served with a strict Content Security Policy
// (script-src 'self'; style-src 'self'): nothing here evaluates strings,
// writes style attributes or parses markup built from data. Styles are set
// only through the CSSOM (el.style.x = …), which the policy allows, and
// server data reaches the page through textContent.

import htmx from 'htmx.org';
import uPlot from 'uplot';

// ---------------------------------------------------------------------------
// Theme: applied first, before htmx processes the page.
// <html data-theme="light|dark">; a stored choice wins, otherwise the
// system's preference is followed (and its changes too).

const THEME_KEY = 'madang-theme';
const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');

function storedTheme() {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'light' || t === 'dark' ? t : null;
  } catch {
    return null; // storage disabled
  }
}

function applyTheme(theme) {
  const root = document.documentElement;
  const changed = root.dataset.theme !== theme;
  root.dataset.theme = theme;
  for (const b of document.querySelectorAll('[data-theme-toggle]')) {
    b.setAttribute('aria-pressed', String(theme === 'dark'));
  }
  // Charts read their colours from CSS and redraw on this event.
  if (changed) document.dispatchEvent(new CustomEvent('madang:theme', { detail: { theme } }));
}

applyTheme(storedTheme() ?? (darkQuery.matches ? 'dark' : 'light'));
darkQuery.addEventListener('change', (e) => {
  if (!storedTheme()) applyTheme(e.matches ? 'dark' : 'light');
});

document.addEventListener('click', (e) => {
  if (!e.target.closest('[data-theme-toggle]')) return;
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  applyTheme(next);
});

// ---------------------------------------------------------------------------
// htmx: exposed for the pages' attributes, configured for the strict CSP.

window.htmx = htmx;
htmx.config.defaultSwapStyle = 'innerHTML';
htmx.config.includeIndicatorStyles = false; // would insert a <style> element
htmx.config.allowEval = false; // no hx-on, no js: values
htmx.config.allowScriptTags = false; // swapped-in <script> is not run

// Every htmx request carries the page's CSRF token. Plain forms carry it
// in a hidden input the server writes.
document.addEventListener('htmx:configRequest', (e) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) e.detail.headers['X-CSRF-Token'] = meta.content;
});

// A live refresh of a fragment keeps the boxes the user ticked (the
// targets to deregister, say): the page remembers which boxes (by name and
// value) the user ticked and ticks them again in whatever new content
// htmx swaps in; a change sent to the server forgets them.
const ticked = new Set();
const boxKey = (b) => `${b.name}=${b.value}`;
document.addEventListener('change', (e) => {
  const b = e.target;
  if (!(b instanceof HTMLInputElement) || b.type !== 'checkbox' || !b.name) return;
  const k = boxKey(b);
  if (b.checked) ticked.add(k);
  else ticked.delete(k);
  // A box ticked just as its fragment was replaced: the new copy follows.
  for (const other of document.querySelectorAll('input[type=checkbox][name]')) {
    if (other !== b && boxKey(other) === k) other.checked = b.checked;
  }
});
// What the page shows just before a live refresh replaces it is what the
// user has ticked, even where a change event went astray (a click that
// landed as the fragment was being replaced).
document.addEventListener('htmx:beforeSwap', (e) => {
  const cfg = e.detail.requestConfig;
  const target = e.detail.target;
  if (!cfg || cfg.verb !== 'get' || !target || !target.querySelectorAll) return;
  for (const b of target.querySelectorAll('input[type=checkbox][name]')) {
    if (b.checked) ticked.add(boxKey(b));
    else ticked.delete(boxKey(b));
  }
});
// The new copy is ticked as it enters the page: a mutation observer runs
// at the end of the task that swapped it in, so nothing (a click, a look
// at the box) ever sees it unticked. htmx's own load event comes only at
// settle, 20 ms later, and a box read in between looked unticked.
const retick = (n) => {
  if (!(n instanceof Element)) return;
  const boxes = n.matches('input[type=checkbox][name]') ? [n] : n.querySelectorAll('input[type=checkbox][name]');
  for (const b of boxes) {
    if (ticked.has(boxKey(b))) b.checked = true;
  }
};
new MutationObserver((records) => {
  if (!ticked.size) return;
  for (const r of records) r.addedNodes.forEach(retick);
}).observe(document.documentElement, { childList: true, subtree: true });
document.addEventListener('htmx:afterRequest', (e) => {
  if (e.detail.requestConfig && e.detail.requestConfig.verb !== 'get') ticked.clear();
});

// A refused htmx request (4xx, 5xx) would change nothing on the page:
// show the server's answer (its error fragment, or its text) in the
// page's flash region instead, so a failed action says why.
document.addEventListener('htmx:responseError', (e) => {
  const region = document.getElementById('flash-region');
  const xhr = e.detail.xhr;
  if (!region || !xhr) return;
  region.replaceChildren();
  const type = xhr.getResponseHeader('Content-Type') || '';
  if (type.startsWith('text/html')) {
    // The console's own fragment, escaped by its templates.
    const tpl = document.createElement('template');
    tpl.innerHTML = xhr.responseText;
    region.append(tpl.content);
  } else {
    const div = document.createElement('div');
    div.className = 'flash error';
    div.setAttribute('role', 'alert');
    let text = xhr.responseText;
    try { text = JSON.parse(text).error.message || text; } catch { /* not JSON */ }
    div.textContent = `${xhr.status}: ${text}`;
    region.append(div);
  }
  region.scrollIntoView({ block: 'nearest' });
});

// ---------------------------------------------------------------------------
// Small helpers.

const pad2 = (n) => String(n).padStart(2, '0');

// clock formats a time (a Date, an RFC 3339 string or nothing for now) as
// local HH:MM:SS.
function clock(t) {
  let d = t instanceof Date ? t : new Date(t ?? Date.now());
  if (Number.isNaN(d.getTime())) d = new Date();
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function parseJSON(s) {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

// isTyping tells whether a key event goes to a text field, where the
// keyboard shortcuts stay out of the way.
function isTyping(e) {
  const t = e.target;
  return t instanceof Element && (t.isContentEditable || t.closest('input, textarea, select') !== null);
}

// ---------------------------------------------------------------------------
// Live updates: one EventSource('/events') per page.
//
//   event: change  {"seq":N,"kind":"instance","resource":"i-0abc","level":"info","message":"running"}
//   event: tick    {"time":"…"}
//
// A change is re-dispatched on <body> as madang:change and madang:<kind>
// (pages re-fetch fragments with hx-trigger="madang:instance from:body"),
// a tick as madang:tick. A page opts out with <body data-events="off">; the
// sign-in page (.signin) never connects.

const FEED_MAX = 50;
let events = null;
let eventsRetry = 0;
let eventsTimer = 0;

function setLive(state) {
  const live = document.getElementById('live');
  if (!live) return;
  live.dataset.state = state;
  const label = live.getAttribute(`data-label-${state}`);
  if (label) live.textContent = label;
}

function appendFeed(d) {
  const feed = document.getElementById('event-feed');
  if (!feed) return;
  const li = el('li', `ev ev-${String(d.level || 'info').replace(/[^a-z0-9-]/gi, '')}`);
  const time = el('time', '', clock(d.time));
  if (d.time) time.dateTime = d.time;
  li.append(time, ' ', el('span', 'ev-kind', d.kind ?? ''), ' ', el('b', '', d.resource ?? ''), ' ', d.message ?? '');
  feed.prepend(li);
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
}

function openEvents() {
  if (events || document.body.dataset.events === 'off' || document.querySelector('.signin')) return;
  const es = new EventSource('/events');
  events = es;
  es.addEventListener('open', () => {
    eventsRetry = 0;
    setLive('live');
  });
  es.addEventListener('error', () => {
    setLive('reconnecting');
    // The browser retries by itself unless the server refused the stream;
    // then a new one is opened with a growing delay (1 s … 30 s).
    if (es.readyState === EventSource.CLOSED && events === es) {
      events = null;
      clearTimeout(eventsTimer);
      eventsTimer = setTimeout(openEvents, Math.min(30000, 1000 * 2 ** eventsRetry++));
    }
  });
  es.addEventListener('change', (e) => {
    const d = parseJSON(e.data);
    if (!d) return;
    htmx.trigger(document.body, 'madang:change', d);
    if (d.kind) htmx.trigger(document.body, `madang:${d.kind}`, d);
    appendFeed(d);
  });
  es.addEventListener('tick', (e) => {
    htmx.trigger(document.body, 'madang:tick', parseJSON(e.data) ?? {});
  });
}

function closeEvents() {
  clearTimeout(eventsTimer);
  if (events) events.close();
  events = null;
}

// ---------------------------------------------------------------------------
// Charts: .chart[data-src] fetches
//   {"unit":"Percent","timestamps":[s…],"series":[{"label":"…","values":[n|null…]}],"threshold":80}
// and draws a uPlot line chart as wide as the element and data-height tall
// (220 by default). With data-live it is re-fetched on every madang:tick.
// Colours come from --chart-1…--chart-8, --chart-axis, --chart-grid and
// --chart-threshold. With no points the element shows its data-empty text.

const charts = new Set();
const chartOf = new WeakMap();

const UNIT_SUFFIX = {
  Percent: '%',
  Seconds: ' s',
  Milliseconds: ' ms',
  Microseconds: ' µs',
  'Count/Second': '/s',
  'Bytes/Second': ' B/s',
};
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

// formatValue writes a value with its CloudWatch unit.
function formatValue(v, unit) {
  if (v == null || !Number.isFinite(v)) return '—';
  if (unit === 'Bytes') {
    let i = 0;
    while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
      v /= 1024;
      i++;
    }
    return `${numberFormat.format(v)} ${BYTE_UNITS[i]}`;
  }
  return numberFormat.format(v) + (UNIT_SUFFIX[unit] ?? '');
}

function cssVar(style, name, fallback) {
  return style.getPropertyValue(name).trim() || fallback;
}

function hasPoints(json) {
  return (
    json &&
    Array.isArray(json.timestamps) &&
    json.timestamps.length > 0 &&
    Array.isArray(json.series) &&
    json.series.some((s) => Array.isArray(s.values) && s.values.some((v) => v != null))
  );
}

// thresholdPlugin draws a dashed horizontal line at y = value.
function thresholdPlugin(value, colour) {
  return {
    hooks: {
      draw: (u) => {
        const y = Math.round(u.valToPos(value, 'y', true)) + 0.5;
        if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = colour;
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
        ctx.restore();
      },
    },
  };
}

function chartHeight(c) {
  const h = parseInt(c.el.dataset.height, 10);
  return h > 0 ? h : 220;
}

function chartWidth(c) {
  return Math.max(100, Math.floor(c.el.clientWidth));
}

// renderChart (re)builds the chart from the last fetched data.
function renderChart(c) {
  if (c.plot) {
    c.plot.destroy();
    c.plot = null;
  }
  const json = c.json;
  if (!hasPoints(json)) {
    c.el.replaceChildren(el('p', 'empty', c.el.dataset.empty ?? ''));
    return;
  }
  c.el.replaceChildren();
  const style = getComputedStyle(c.el);
  const axis = cssVar(style, '--chart-axis', '#5f6b7a');
  const grid = cssVar(style, '--chart-grid', '#e9ebed');
  const unit = json.unit ?? '';
  const threshold = typeof json.threshold === 'number' ? json.threshold : null;
  const fmt = (u, v) => formatValue(v, unit);
  const axisOpts = {
    stroke: axis,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
  };
  const opts = {
    width: chartWidth(c),
    height: chartHeight(c),
    series: [
      {},
      ...json.series.map((s, i) => ({
        label: s.label,
        stroke: cssVar(style, `--chart-${(i % 8) + 1}`, '#0972d3'),
        width: 1.5,
        points: { show: false },
        value: fmt,
      })),
    ],
    axes: [axisOpts, { ...axisOpts, size: 64, values: (u, ticks) => ticks.map((v) => formatValue(v, unit)) }],
    scales: {
      y: {
        // Keep the threshold in view.
        range: (u, min, max) => {
          if (threshold !== null) {
            min = Math.min(min, threshold);
            max = Math.max(max, threshold);
          }
          if (min >= 0) min = 0;
          return uPlot.rangeNum(min, max, 0.1, true);
        },
      },
    },
    plugins: threshold === null ? [] : [thresholdPlugin(threshold, cssVar(style, '--chart-threshold', '#d91515'))],
  };
  const data = [json.timestamps, ...json.series.map((s) => s.values)];
  c.plot = new uPlot(opts, data, c.el);
}

async function loadChart(c) {
  if (c.abort) c.abort.abort();
  const abort = new AbortController();
  c.abort = abort;
  try {
    const res = await fetch(c.el.dataset.src, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      signal: abort.signal,
    });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const json = await res.json();
    if (!c.el.isConnected) return;
    const sameSeries =
      c.plot &&
      hasPoints(json) &&
      c.json.unit === json.unit &&
      c.json.threshold === json.threshold &&
      c.json.series.length === json.series.length &&
      c.json.series.every((s, i) => s.label === json.series[i].label);
    c.json = json;
    c.el.removeAttribute('aria-busy');
    c.el.classList.remove('chart-error');
    if (sameSeries) {
      // Same chart, new points: keep the legend and cursor.
      c.plot.setData([json.timestamps, ...json.series.map((s) => s.values)]);
    } else {
      renderChart(c);
    }
  } catch (err) {
    if (err.name === 'AbortError') return;
    c.el.removeAttribute('aria-busy');
    c.el.classList.add('chart-error');
    if (!c.plot) c.el.replaceChildren(el('p', 'empty', c.el.dataset.error ?? c.el.dataset.empty ?? ''));
  } finally {
    if (c.abort === abort) c.abort = null;
  }
}

function initChart(e) {
  if (chartOf.has(e)) return;
  const c = { el: e, plot: null, json: null, abort: null, ro: null, width: 0 };
  chartOf.set(e, c);
  charts.add(c);
  e.setAttribute('aria-busy', 'true');
  c.ro = new ResizeObserver(() => {
    const w = chartWidth(c);
    if (c.plot && w !== c.width) c.plot.setSize({ width: w, height: chartHeight(c) });
    c.width = w;
  });
  c.ro.observe(e);
  loadChart(c);
}

function destroyChart(c) {
  charts.delete(c);
  chartOf.delete(c.el);
  if (c.abort) c.abort.abort();
  if (c.ro) c.ro.disconnect();
  if (c.plot) c.plot.destroy();
  c.plot = null;
}

document.addEventListener('madang:theme', () => {
  for (const c of charts) if (c.json) renderChart(c);
});

// ---------------------------------------------------------------------------
// Log tail: pre.log[data-tail] follows an EventSource whose messages are
//   {"time":"…","stream":"stdout|stderr","text":"…"}
// It keeps the last 2000 lines and stays scrolled to the bottom unless the
// reader scrolled up. A [data-tail-toggle] button (naming the log's id in
// its value, or placed next to it) pauses and resumes the stream.

const TAIL_MAX = 2000;
const tails = new Set();
const tailOf = new WeakMap();

function tailAppend(t, d) {
  const pre = t.el;
  const stream = d.stream === 'stderr' ? 'stderr' : 'stdout';
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
  const line = el('span', `ln ln-${stream}`);
  line.append(el('span', 'ln-time', clock(d.time)), ' ', String(d.text ?? '').replace(/\r?\n$/, ''), '\n');
  pre.append(line);
  while (pre.childElementCount > TAIL_MAX) pre.firstElementChild.remove();
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function tailState(t, state) {
  t.el.dataset.state = state;
  for (const b of tailButtons(t.el)) {
    b.setAttribute('aria-pressed', String(state === 'paused'));
    const label = b.getAttribute(state === 'paused' ? 'data-label-resume' : 'data-label-pause');
    if (label) b.textContent = label;
  }
}

function tailOpen(t) {
  if (t.es) return;
  const es = new EventSource(t.el.dataset.tail);
  t.es = es;
  es.addEventListener('open', () => tailState(t, 'live'));
  es.addEventListener('error', () => tailState(t, es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  es.addEventListener('message', (e) => {
    const d = parseJSON(e.data);
    if (d) tailAppend(t, d);
  });
}

function tailClose(t) {
  if (t.es) t.es.close();
  t.es = null;
}

function initTail(pre) {
  if (tailOf.has(pre)) return;
  const t = { el: pre, es: null, paused: false };
  tailOf.set(pre, t);
  tails.add(t);
  tailOpen(t);
  pre.scrollTop = pre.scrollHeight;
}

function destroyTail(t) {
  tailClose(t);
  tails.delete(t);
  tailOf.delete(t.el);
}

// tailFor finds the log a toggle button controls: the one its value names,
// else the nearest one around it.
function tailFor(button) {
  const id = button.getAttribute('data-tail-toggle');
  if (id) return document.getElementById(id);
  for (let p = button.parentElement; p; p = p.parentElement) {
    const pre = p.querySelector('pre.log[data-tail]');
    if (pre) return pre;
  }
  return null;
}

function tailButtons(pre) {
  return [...document.querySelectorAll('[data-tail-toggle]')].filter((b) => tailFor(b) === pre);
}

document.addEventListener('click', (e) => {
  const button = e.target.closest('[data-tail-toggle]');
  if (!button) return;
  const t = tailOf.get(tailFor(button));
  if (!t) return;
  t.paused = !t.paused;
  if (t.paused) {
    tailClose(t);
    tailState(t, 'paused');
  } else {
    tailOpen(t);
  }
});

// ---------------------------------------------------------------------------
// Wiring: new content (the first page and every htmx swap) gets its charts
// and tails; content htmx removes gives them up.

htmx.onLoad((root) => {
  if (!(root instanceof Element)) return;
  const find = (sel) => [...(root.matches(sel) ? [root] : []), ...root.querySelectorAll(sel)];
  find('.chart[data-src]').forEach(initChart);
  find('pre.log[data-tail]').forEach(initTail);
  for (const b of document.querySelectorAll('[data-theme-toggle]')) {
    b.setAttribute('aria-pressed', String(document.documentElement.dataset.theme === 'dark'));
  }
});

document.addEventListener('htmx:beforeCleanupElement', (e) => {
  const c = chartOf.get(e.target);
  if (c) destroyChart(c);
  const t = tailOf.get(e.target);
  if (t) destroyTail(t);
});

document.addEventListener('madang:tick', () => {
  for (const c of [...charts]) {
    if (!c.el.isConnected) destroyChart(c); // removed by something other than htmx
    else if (c.el.hasAttribute('data-live')) loadChart(c);
  }
  for (const t of [...tails]) if (!t.el.isConnected) destroyTail(t);
});

// Streams are closed when the page is left and reopened when it comes back
// from the back/forward cache.
window.addEventListener('pagehide', () => {
  closeEvents();
  tails.forEach(tailClose);
});
window.addEventListener('pageshow', (e) => {
  if (!e.persisted) return;
  openEvents();
  for (const t of tails) if (!t.paused) tailOpen(t);
});

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', openEvents);
else openEvents();

// ---------------------------------------------------------------------------
// Keyboard: "/" focuses the page's search field, Escape closes an open
// dialog, and "g" followed by a letter goes to a section.

const GO = {
  i: '/ec2/instances',
  l: '/elb/load-balancers',
  t: '/elb/target-groups',
  a: '/autoscaling/groups',
  c: '/cloudwatch/alarms',
  h: '/',
};
let goPending = 0; // time of the last "g", or 0

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    const open = document.querySelectorAll('dialog[open]');
    if (open.length) open[open.length - 1].close();
    return;
  }
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isTyping(e)) return;
  if (goPending && Date.now() - goPending < 1500 && Object.hasOwn(GO, e.key)) {
    goPending = 0;
    e.preventDefault();
    window.location.assign(GO[e.key]);
    return;
  }
  goPending = e.key === 'g' ? Date.now() : 0;
  if (e.key === '/') {
    const search = document.querySelector('[data-search]');
    if (search) {
      e.preventDefault();
      search.focus();
      if (typeof search.select === 'function') search.select();
    }
  }
});

// ---------------------------------------------------------------------------
// Copy buttons: [data-copy] puts its value on the clipboard and shows ✓.

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host than localhost has no clipboard API.
  const area = el('textarea', 'sr-only');
  area.value = text;
  area.setAttribute('readonly', '');
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused');
}

document.addEventListener('click', async (e) => {
  const button = e.target.closest('[data-copy]');
  if (!button || button.dataset.copied) return;
  e.preventDefault();
  try {
    await copyText(button.getAttribute('data-copy'));
  } catch {
    return;
  }
  const before = [...button.childNodes];
  button.dataset.copied = 'true';
  button.textContent = '✓';
  setTimeout(() => {
    button.replaceChildren(...before);
    delete button.dataset.copied;
  }, 1200);
});

// ---------------------------------------------------------------------------
// Table filter: input[data-filter-table="ID"] hides the rows of table#ID
// whose text does not contain it (case-insensitive). The filter is applied
// again after htmx replaces a table.

function filterTable(input) {
  const table = document.getElementById(input.getAttribute('data-filter-table'));
  if (!table) return;
  const q = input.value.trim().toLocaleLowerCase();
  const bodies = table.tBodies.length ? [...table.tBodies] : [table];
  for (const body of bodies) {
    for (const row of body.rows) {
      if (row.parentElement.tagName === 'THEAD') continue;
      row.hidden = q !== '' && !row.textContent.toLocaleLowerCase().includes(q);
    }
  }
}

document.addEventListener('input', (e) => {
  if (e.target instanceof Element && e.target.matches('input[data-filter-table]')) filterTable(e.target);
});
document.addEventListener('htmx:afterSettle', () => {
  for (const input of document.querySelectorAll('input[data-filter-table]')) if (input.value) filterTable(input);
});

// ---------------------------------------------------------------------------
// Navigation on small screens: the menu is rendered open (so it shows
// where details cannot be styled closed); on a narrow screen it starts
// folded, as a phone's menu button.

function foldNavOnSmallScreens() {
  if (!window.matchMedia('(max-width: 800px)').matches) return;
  for (const d of document.querySelectorAll('details.navtoggle')) d.open = false;
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', foldNavOnSmallScreens);
else foldNavOnSmallScreens();
