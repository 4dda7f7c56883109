/*  zjob dashboard - the broker's web pages, served by zjobd at /

    Plain ES2017, no framework, no build step, nothing fetched from
    anywhere but the broker that serves it (CSP: default-src 'self'). The
    pages read the JSON API (/api/...: PROTOCOL.md's OK bodies as JSON,
    docs/ARCHITECTURE.md) and post its actions with the header
    X-Zjob-Request: 1 (a cross-site form cannot set it), by relative
    URLs (api/stats), so the pages also work behind a proxy that serves
    zjobd under a path of its own. Every text from the broker goes in as
    a text node or an attribute value, never as HTML, so a job's inputs
    cannot become markup. job.js, loaded first, turns the API's jobs into
    the objects the pages use (normJob).

    Routes (location.hash):
      #/                      overview: counts per status and per workflow,
                              completed and failed per minute over the last
                              hour (STATS.history) as an SVG chart,
                              throughput, failure rate, the workers' load
      #/jobs?FILTERS          the job list: status, workflow, user, tag,
                              batch, sort, order, offset, limit (as the CLI)
      #/jobs/ID               one job: fields, progress, timings, inputs,
                              outputs, error and attempts, parents, children,
                              and its actions
      #/workers               the connected workers
      #/queues                the queues, with pause and resume

    Live updates: one EventSource on /api/events. An event refreshes the
    page shown: the events of REFRESH_DEBOUNCE_MS make one refresh, and
    a refresh waits at least twice as long as the last load took, so a
    busy broker (events without a pause) still gets one, and a slow LIST
    (a big store) is not asked again and again; one load is in flight at
    a time. While the stream is down the page is polled instead. A 401
    from the API shows a token form that POSTs /api/login and reloads.

    Stable hooks for tests (ids are unique on a page; data-testid may
    repeat, one per row):
      #conn[data-state=live|connecting|offline]  the live-update indicator
      #updated-at (the last refresh), #notice[data-kind=ok|error] (what
      an action did), #page-error (a job page that could not load),
      #nav-overview #nav-jobs #nav-workers #nav-queues, #notice, #page,
      #page[data-page=overview|jobs|job|workers|queues|login]
                                                 the page shown (set once
                                                 its data is on the page)
      overview: [data-testid=count-total], [data-testid=count-STATUS]
                (each of the eight statuses, the number as text),
                #workflow-table tr[data-testid=workflow-row][data-workflow=W]
                with td[data-testid=wf-count][data-status=S],
                #history-chart (svg; data-completed, data-failed: sums over
                the hour; rect.bar-completed, rect.bar-failed), or
                #history-chart-missing without STATS.history;
                [data-testid=throughput|failure-rate|submitted-hour|
                rate-completed|workers-count|slots-busy|ready-count],
                #worker-load [data-testid=worker-load][data-worker=ID]
                with [data-testid=load-text] ("busy / slots")
      jobs:     form#job-filters, #filter-status-STATUS (checkboxes),
                #filter-workflow #filter-user #filter-tag #filter-batch
                #filter-sort #filter-order #filter-limit #filter-apply
                #filter-reset, #jobs-table tr[data-testid=job-row]
                [data-id=ID][data-status=S][data-workflow=W] with
                a[data-testid=job-link] and button[data-testid=job-cancel],
                #jobs-total[data-total=N], #jobs-empty, #page-info,
                #page-prev, #page-next
      job:      #job-id, #job-status[data-status=S], #job-progress
                (role=progressbar, aria-valuenow 0..100), #job-fields,
                #job-progress-message, [data-testid=job-workflow|job-worker|
                job-attempt-count], #job-timings, #job-inputs, #job-outputs,
                #job-error, #job-attempts (tr[data-testid=attempt-row]),
                #job-parents, #job-children
                (a[data-testid=parent-link|child-link]), #job-metadata,
                #action-cancel #action-retry #action-pause #action-resume
                #action-start #action-run-now #action-delete
                (#action-delete asks again: #action-delete-confirm)
      workers:  #workers-table tr[data-testid=worker-row][data-worker=ID]
                [data-name=NAME], td[data-testid=worker-busy|worker-slots],
                a[data-testid=worker-job], #workers-empty
      queues:   #queues-table tr[data-testid=queue-row][data-workflow=W]
                [data-paused=true|false], [data-testid=queue-state],
                button[data-testid=queue-pause|queue-resume], #queues-empty
      login:    form#login-form, #login-token, #login-submit, #login-error
*/
'use strict';

const REFRESH_DEBOUNCE_MS = 300;   //  events within this are one refresh
const LOAD_SHARE = 2;              //  a refresh waits this many times the last load
const POLL_MS = 5000;              //  refresh period while the stream is down
const STATUSES = ['created', 'waiting', 'queued', 'running', 'paused',
                  'completed', 'failed', 'cancelled'];
const CANCELLABLE = ['created', 'waiting', 'queued', 'running', 'paused'];
//  Which lifecycle operations each status allows (PROTOCOL.md 9.5)
const ACTIONS = [
  { op: 'start', label: 'Start', from: ['created', 'paused'] },
  { op: 'pause', label: 'Pause', from: ['created', 'waiting', 'queued', 'running'] },
  { op: 'resume', label: 'Resume', from: ['paused'] },
  { op: 'run_now', id: 'run-now', label: 'Run now', from: ['queued'], when: (job) => job.run_at_ms > Date.now() },
  { op: 'cancel', label: 'Cancel', from: CANCELLABLE, danger: true },
  { op: 'retry', label: 'Retry', from: ['failed', 'cancelled'] },
];
//  Event types of PROTOCOL.md 11.2 (SSE names each event by its type)
const EVENT_TYPES = ['created', 'waiting', 'queued', 'running', 'paused', 'completed',
                     'failed', 'cancelled', 'retrying', 'timed_out', 'dead', 'progress',
                     'deleted', 'batch_finished', 'schedule_fired', 'queue_paused',
                     'queue_resumed', 'worker_joined', 'worker_left'];
const SVG_NS = 'http://www.w3.org/2000/svg';   //  a namespace name, never fetched

/* ------------------------------------------------------------------ DOM */

//  An element with attributes (on* keys become listeners, data-* and the
//  rest attributes, 'text' its text) and children (strings become text)
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false)
      continue;
    if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), value);
    else if (key === 'text')
      el.textContent = String(value);
    else if (key === 'className' && !(el instanceof SVGElement))
      el.className = value;
    else
      el.setAttribute(key === 'className' ? 'class' : key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false)
      continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function replace(el, ...children) {
  while (el.firstChild)
    el.removeChild(el.firstChild);
  append(el, children);
  return el;
}

function $(id) {
  return document.getElementById(id);
}

/* ------------------------------------------------------------- formats */

function fmtNumber(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : (n === undefined || n === null ? '–' : String(n));
}

function fmtTime(ms) {
  ms = toMs(ms);
  if (!ms)
    return '–';
  const d = new Date(ms);
  const pad = (n, w) => String(n).padStart(w || 2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
       + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fmtDuration(ms) {
  if (ms === undefined || ms === null || isNaN(ms))
    return '–';
  ms = Math.max(0, ms);
  if (ms < 1000)
    return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60)
    return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60)
    return `${m}m ${Math.floor(s % 60)}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48)
    return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

//  A time as msecs: the API sends msecs, or an ISO 8601 string
function toMs(value) {
  return typeof value === 'string' ? isoMs(value) : (value || 0);
}

function fmtAgo(ms) {
  ms = toMs(ms);
  if (!ms)
    return '–';
  const delta = Date.now() - ms;
  return delta >= 0 ? `${fmtDuration(delta)} ago` : `in ${fmtDuration(-delta)}`;
}

function timeCell(ms) {
  return h('span', { title: fmtTime(ms), text: fmtAgo(ms) });
}

function badge(status, attrs) {
  return h('span', Object.assign({ className: `badge st-${status}`, text: status }, attrs || {}));
}

function bar(fraction, attrs, status) {
  const pct = Math.max(0, Math.min(100, Math.round((fraction || 0) * 100)));
  const fill = h('span', { className: status ? `st-${status}` : undefined });
  fill.style.width = `${pct}%`;
  return h('div', Object.assign({ className: 'bar', role: 'progressbar', 'aria-valuemin': 0,
                                  'aria-valuemax': 100, 'aria-valuenow': pct }, attrs || {}), fill);
}

function jobLink(id, testid) {
  return h('a', { href: `#/jobs/${encodeURIComponent(id)}`, className: 'mono', 'data-testid': testid, text: id });
}

function jsonBlock(id, value) {
  const text = value === undefined ? 'none' : JSON.stringify(value, null, 2);
  return h('pre', { id, className: 'json', text });
}

function panel(title, ...children) {
  return h('section', { className: 'panel' }, title ? h('h2', { text: title }) : null, children);
}

/* ----------------------------------------------------------------- API */

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let loginShown = false;

async function api(path, options) {
  let response;
  try {
    response = await fetch(path, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, options || {}));
  } catch (e) {
    throw new ApiError(0, `the broker's HTTP endpoint does not answer (${e.message})`);
  }
  if (response.status === 401) {
    showLogin();
    throw new ApiError(401, 'a token is needed');
  }
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      body = null;
    }
  }
  if (!response.ok) {
    const message = body && body.error && body.error.message ? body.error.message : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body || {};
}

function post(path, body) {
  return api(path, {
    method: 'POST',
    headers: { 'X-Zjob-Request': '1', 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
}

function notify(kind, text) {
  const el = $('notice');
  el.hidden = false;
  el.setAttribute('data-kind', kind);
  el.textContent = text;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 10000 : 4000);
}

//  Run an action from a button: disable it meanwhile, say what happened,
//  refresh the page (unless the action leaves it)
async function act(button, label, promise, refresh = true) {
  if (button)
    button.disabled = true;
  try {
    const result = await promise();
    notify('ok', `${label}: ${result && result.status ? result.status : 'done'}`);
  } catch (e) {
    if (e.status !== 401)
      notify('error', `${label}: ${e.message}`);
  } finally {
    if (button)
      button.disabled = false;
    if (refresh)
      refreshNow();
  }
}

function jobAction(id, op) {
  return post(`api/jobs/${encodeURIComponent(id)}/${op}`);
}

/* --------------------------------------------------------------- login */

function showLogin() {
  if (loginShown)
    return;
  loginShown = true;
  const error = h('p', { id: 'login-error', className: 'error-box hidden' });
  const input = h('input', { id: 'login-token', type: 'password', autocomplete: 'current-password',
                             placeholder: 'the broker\'s HTTP token', required: true });
  const form = h('form', { id: 'login-form', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const response = await fetch('api/login', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'X-Zjob-Request': '1', 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: input.value.trim() }),
      });
      if (!response.ok)
        throw new Error(response.status === 401 ? 'this token is not accepted' : `${response.status} ${response.statusText}`);
      location.reload();
    } catch (e) {
      error.textContent = `Sign-in failed: ${e.message}`;
      error.classList.remove('hidden');
    }
  } },
  h('label', { className: 'field', for: 'login-token', text: 'Token' }), input, error,
  h('button', { id: 'login-submit', type: 'submit', className: 'primary', text: 'Sign in' }));
  const page = $('page');
  page.setAttribute('data-page', 'login');
  replace(page, h('div', { className: 'panel login' },
    h('h1', { text: 'Sign in' }),
    h('p', { className: 'muted', text: 'This broker asks for a token (zjobd --http-token).' }), form));
  setConn('offline');
  input.focus();
}

/* ------------------------------------------------------------ overview */

const overviewPage = {
  name: 'overview',
  build(page) {
    page.appendChild(h('h1', { text: 'Overview' }));
    this.cards = page.appendChild(h('div', { className: 'cards', id: 'status-cards' }));
    const grid = page.appendChild(h('div', { className: 'grid grid-2' }));
    this.chart = grid.appendChild(panel('Completed and failed per minute, last hour'));
    this.loadPanel = grid.appendChild(panel('Workers and load'));
    this.workflows = page.appendChild(panel('Jobs per workflow'));
  },
  async load() {
    const [stats, workers] = await Promise.all([api('api/stats'), api('api/workers')]);
    return { stats, workers: workers.workers || [] };
  },
  render(data) {
    const stats = data.stats;
    const byStatus = stats.by_status || {};
    replace(this.cards,
      h('a', { className: 'card', href: '#/jobs' },
        h('div', { className: 'label', text: 'jobs' }),
        h('div', { className: 'value', 'data-testid': 'count-total', text: fmtNumber(stats.jobs || 0) })),
      STATUSES.map((status) => h('a', { className: `card st-${status}`, href: `#/jobs?status=${status}` },
        h('div', { className: 'label', text: status }),
        h('div', { className: 'value', 'data-testid': `count-${status}`, 'data-status': status,
                   text: fmtNumber(byStatus[status] || 0) }))));
    replace(this.chart, h('h2', { text: 'Completed and failed per minute, last hour' }),
            historyFigures(stats), historyChart(stats.history));
    replace(this.loadPanel, h('h2', { text: 'Workers and load' }), workerLoad(stats, data.workers));
    replace(this.workflows, h('h2', { text: 'Jobs per workflow' }), workflowTable(stats));
  },
};

function sum(list) {
  return (list || []).reduce((a, b) => a + (Number(b) || 0), 0);
}

function historyFigures(stats) {
  const history = stats.history || {};
  const completed = sum(history.completed);
  const failed = sum(history.failed);
  const submitted = sum(history.submitted);
  const rates = stats.rates || {};
  const finished = completed + failed;
  const failureRate = finished ? `${(100 * failed / finished).toFixed(1)} %` : '–';
  const figure = (label, value, testid, title) => h('div', { className: 'figure', title },
    h('div', { className: 'label', text: label }), h('div', { className: 'value', 'data-testid': testid, text: value }));
  return h('div', { className: 'figures' },
    figure('throughput, last hour', `${(completed / 60).toFixed(2)} /min`, 'throughput',
           `${fmtNumber(completed)} jobs completed in the last 60 minutes`),
    figure('failure rate, last hour', failureRate, 'failure-rate',
           `${fmtNumber(failed)} failed of ${fmtNumber(finished)} finished`),
    figure('submitted, last hour', fmtNumber(submitted), 'submitted-hour'),
    figure('completing now', `${Number(rates.completed || 0).toFixed(2)} /s`, 'rate-completed',
           `over the last ${fmtDuration(stats.rate_window_ms)}`));
}

//  Two bars a minute, completed and failed, oldest on the left; a bar's
//  <title> gives its minute and counts
function historyChart(history) {
  if (!history || !Array.isArray(history.completed))
    return h('p', { className: 'muted', id: 'history-chart-missing', text: 'This broker sends no history.' });
  const completed = history.completed.map(Number);
  const failed = (history.failed || []).map(Number);
  const n = completed.length;
  const width = 600, height = 200, left = 34, right = 8, top = 10, bottom = 24;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = Math.max(1, ...completed, ...failed);
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step;
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const slot = plotW / Math.max(1, n);
  const barW = Math.max(1, slot / 2 - 0.5);
  const chart = svg('svg', { id: 'history-chart', className: 'chart', viewBox: `0 0 ${width} ${height}`,
                             role: 'img', 'aria-label': 'Completed and failed jobs per minute over the last hour',
                             'data-completed': sum(completed), 'data-failed': sum(failed) });
  for (let v = 0; v <= yMax; v += step) {
    chart.appendChild(svg('line', { className: 'grid-line', x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    chart.appendChild(svg('text', { className: 'axis-text', x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  const minuteMs = 60000;
  for (let i = 0; i < n; i++) {
    const start = (history.minute || 0) - (n - 1 - i) * minuteMs;
    const x = left + i * slot;
    const label = `${history.minute ? fmtTime(start).slice(11, 16) : `-${n - 1 - i} min`}: `
                + `${completed[i]} completed, ${failed[i] || 0} failed`;
    const group = svg('g', {}, svg('title', {}, label));
    if (completed[i])
      group.appendChild(svg('rect', { className: 'bar-completed', x: x + 0.5, y: y(completed[i]), width: barW,
                                      height: plotH + top - y(completed[i]) }));
    if (failed[i])
      group.appendChild(svg('rect', { className: 'bar-failed', x: x + 0.5 + barW, y: y(failed[i]), width: barW,
                                      height: plotH + top - y(failed[i]) }));
    chart.appendChild(group);
  }
  const ticks = [[0, '-60 min'], [Math.floor(n / 2), '-30 min'], [n - 1, 'now']];
  for (const [i, text] of ticks)
    chart.appendChild(svg('text', { className: 'axis-text', x: left + i * slot + slot / 2, y: height - 6,
                                    'text-anchor': i === 0 ? 'start' : (i === n - 1 ? 'end' : 'middle') }, text));
  const legend = h('div', { className: 'legend' },
    h('span', {}, h('i', { className: 'key-completed' }), 'completed'),
    h('span', {}, h('i', { className: 'key-failed' }), 'failed'));
  return h('div', {}, chart, legend);
}

function niceStep(max) {
  const rough = max / 4;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  for (const m of [1, 2, 5, 10])
    if (m * power >= rough)
      return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

function workerLoad(stats, workers) {
  const total = h('div', { className: 'figures' },
    h('div', { className: 'figure' }, h('div', { className: 'label', text: 'workers' }),
      h('div', { className: 'value', 'data-testid': 'workers-count', text: fmtNumber(stats.workers || 0) })),
    h('div', { className: 'figure' }, h('div', { className: 'label', text: 'busy / slots' }),
      h('div', { className: 'value', 'data-testid': 'slots-busy', text: `${fmtNumber(stats.busy || 0)} / ${fmtNumber(stats.slots || 0)}` })),
    h('div', { className: 'figure' }, h('div', { className: 'label', text: 'ready jobs' }),
      h('div', { className: 'value', 'data-testid': 'ready-count', text: fmtNumber(stats.queued || 0) })),
    stats.held_by_limit ? h('div', { className: 'figure' }, h('div', { className: 'label', text: 'held back' }),
      h('div', { className: 'value', text: `max_concurrent ${stats.max_concurrent}` })) : null);
  if (!workers.length)
    return h('div', { id: 'worker-load' }, total, h('p', { className: 'empty', text: 'No worker connected.' }));
  return h('div', { id: 'worker-load' }, total, workers.map((w) => h('div', {
    className: 'load', 'data-testid': 'worker-load', 'data-worker': w.worker_id },
    h('a', { href: '#/workers', title: w.worker_id, text: w.name || w.worker_id }),
    bar(w.slots ? w.busy / w.slots : 0),
    h('span', { className: 'mono', 'data-testid': 'load-text', text: `${w.busy || 0} / ${w.slots || 0}` }))));
}

function workflowTable(stats) {
  const names = Object.keys(stats.by_workflow || {}).sort();
  if (!names.length)
    return h('p', { className: 'empty', text: 'No jobs yet.' });
  const held = stats.held || {};
  return h('div', { className: 'table-wrap' }, h('table', { id: 'workflow-table' },
    h('thead', {}, h('tr', {}, h('th', { text: 'workflow' }),
      STATUSES.map((s) => h('th', { className: 'num', text: s })), h('th', { className: 'num', text: 'total' }),
      h('th', { text: 'queue' }))),
    h('tbody', {}, names.map((name) => {
      const counts = stats.by_workflow[name] || {};
      const total = sum(Object.values(counts));
      return h('tr', { 'data-testid': 'workflow-row', 'data-workflow': name },
        h('td', {}, h('a', { href: `#/jobs?workflow=${encodeURIComponent(name)}`, text: name })),
        STATUSES.map((s) => h('td', { className: 'num', 'data-testid': 'wf-count', 'data-status': s },
          counts[s] ? h('a', { href: `#/jobs?workflow=${encodeURIComponent(name)}&status=${s}`, text: fmtNumber(counts[s]) })
                    : h('span', { className: 'muted', text: '0' }))),
        h('td', { className: 'num', text: fmtNumber(total) }),
        h('td', {}, held[name] ? h('span', { className: 'pill', text: `held: ${held[name]}` }) : ''));
    }))));
}

/* ---------------------------------------------------------------- jobs */

const LIMITS = [25, 50, 100, 200, 500];

//  The job list's state lives in the hash (#/jobs?workflow=x&offset=50),
//  so a filtered page can be bookmarked and the back button works
function listQuery(params) {
  const q = {
    status: (params.get('status') || '').split(',').filter((s) => STATUSES.includes(s)),
    workflow: params.get('workflow') || '', user: params.get('user') || '',
    tag: params.get('tag') || '', batch: params.get('batch') || '',
    sort: params.get('sort') || 'created', order: params.get('order') || 'desc',
    offset: Math.max(0, parseInt(params.get('offset') || '0', 10) || 0),
    limit: parseInt(params.get('limit') || '50', 10) || 50,
  };
  return q;
}

function queryString(q, extra) {
  const all = Object.assign({}, q, extra || {});
  const parts = [];
  if (all.status.length) parts.push(['status', all.status.join(',')]);
  for (const key of ['workflow', 'user', 'tag', 'batch'])
    if (all[key]) parts.push([key, all[key]]);
  if (all.sort !== 'created') parts.push(['sort', all.sort]);
  if (all.order !== 'desc') parts.push(['order', all.order]);
  if (all.offset) parts.push(['offset', all.offset]);
  if (all.limit !== 50) parts.push(['limit', all.limit]);
  return parts.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

const jobsPage = {
  name: 'jobs',
  build(page, params) {
    this.q = listQuery(params);
    const q = this.q;
    page.appendChild(h('h1', { text: 'Jobs' }));
    const statusBoxes = STATUSES.map((s) => h('label', { className: `st-${s}` },
      h('input', { type: 'checkbox', id: `filter-status-${s}`, value: s, checked: q.status.includes(s) }), s));
    const text = (id, label, value, placeholder, list) => h('label', { className: 'field', for: id }, label,
      h('input', { type: 'text', id, value, placeholder, list, autocomplete: 'off' }));
    const select = (id, label, options, value) => h('label', { className: 'field', for: id }, label,
      h('select', { id }, options.map((o) => h('option', { value: o, selected: String(o) === String(value), text: o }))));
    this.workflowList = h('datalist', { id: 'workflow-names' });
    const form = h('form', { id: 'job-filters', className: 'filters', onsubmit: (ev) => {
      ev.preventDefault();
      const next = {
        status: STATUSES.filter((s) => $(`filter-status-${s}`).checked),
        workflow: $('filter-workflow').value.trim(), user: $('filter-user').value.trim(),
        tag: $('filter-tag').value.replace(/\s+/g, ''), batch: $('filter-batch').value.trim(),
        sort: $('filter-sort').value, order: $('filter-order').value, offset: 0,
        limit: parseInt($('filter-limit').value, 10),
      };
      location.hash = `#/jobs?${queryString(next)}`;
    } },
    h('div', { className: 'field' }, 'status', h('div', { className: 'statuses' }, statusBoxes)),
    text('filter-workflow', 'workflow', q.workflow, 'any', 'workflow-names'),
    text('filter-user', 'user', q.user, 'any'),
    text('filter-tag', 'tags (all of)', q.tag, 'a,b'),
    text('filter-batch', 'batch', q.batch, 'any'),
    select('filter-sort', 'sort', ['created', 'updated', 'priority', 'status'], q.sort),
    select('filter-order', 'order', ['desc', 'asc'], q.order),
    select('filter-limit', 'per page', LIMITS.includes(q.limit) ? LIMITS : LIMITS.concat([q.limit]), q.limit),
    h('div', { className: 'actions' },
      h('button', { type: 'submit', id: 'filter-apply', className: 'primary', text: 'Apply' }),
      h('button', { type: 'button', id: 'filter-reset', text: 'Reset', onclick: () => { location.hash = '#/jobs'; } })),
    this.workflowList);
    page.appendChild(panel(null, form));
    this.table = page.appendChild(h('section', { className: 'panel' }));
  },
  async load() {
    const q = this.q;
    const params = new URLSearchParams();
    if (q.status.length) params.set('status', q.status.join(','));
    for (const key of ['workflow', 'user', 'tag', 'batch'])
      if (q[key]) params.set(key, q[key]);
    params.set('sort', q.sort);
    params.set('order', q.order);
    params.set('offset', String(q.offset));
    params.set('limit', String(q.limit));
    const [list, stats] = await Promise.all([api(`api/jobs?${params}`), api('api/stats').catch(() => ({}))]);
    return { list, workflows: Object.keys(stats.by_workflow || {}).sort() };
  },
  render(data) {
    const q = this.q;
    replace(this.workflowList, data.workflows.map((w) => h('option', { value: w })));
    const jobs = (data.list.jobs || []).map(normJob).filter(Boolean);
    const total = data.list.total || 0;
    const offset = data.list.offset !== undefined ? data.list.offset : q.offset;
    const first = jobs.length ? offset + 1 : 0;
    const body = jobs.length ? h('div', { className: 'table-wrap' }, h('table', { id: 'jobs-table' },
      h('thead', {}, h('tr', {}, ['id', 'workflow', 'status', 'priority', 'progress', 'user', 'tags', 'created', 'updated', '']
        .map((t, i) => h('th', { text: t, className: [5, 6, 8].includes(i) ? 'hide-narrow' : undefined })))),
      h('tbody', {}, jobs.map((job) => jobRow(job))))) : h('p', { className: 'empty', id: 'jobs-empty', text: 'No job matches.' });
    const prevOffset = Math.max(0, offset - q.limit);
    const nextOffset = offset + jobs.length;
    replace(this.table,
      h('h2', {}, h('span', { id: 'jobs-total', 'data-total': total, text: fmtNumber(total) }), total === 1 ? ' job' : ' jobs'),
      body,
      h('div', { className: 'pager' },
        h('span', { id: 'page-info', className: 'muted', text: `${fmtNumber(first)}–${fmtNumber(offset + jobs.length)} of ${fmtNumber(total)}` }),
        h('button', { id: 'page-prev', type: 'button', text: '‹ Previous', disabled: offset === 0,
                      onclick: () => { location.hash = `#/jobs?${queryString(q, { offset: prevOffset })}`; } }),
        h('button', { id: 'page-next', type: 'button', text: 'Next ›', disabled: nextOffset >= total || !jobs.length,
                      onclick: () => { location.hash = `#/jobs?${queryString(q, { offset: nextOffset })}`; } })));
  },
};

function jobRow(job) {
  const cancel = CANCELLABLE.includes(job.status)
    ? h('button', { type: 'button', className: 'small danger', 'data-testid': 'job-cancel', text: 'Cancel',
                    onclick: (ev) => act(ev.currentTarget, `cancel ${job.id}`, () => jobAction(job.id, 'cancel')) })
    : null;
  return h('tr', { 'data-testid': 'job-row', 'data-id': job.id, 'data-status': job.status, 'data-workflow': job.workflow_id },
    h('td', {}, jobLink(job.id, 'job-link')),
    h('td', {}, h('a', { href: `#/jobs?workflow=${encodeURIComponent(job.workflow_id)}`, text: job.workflow_id })),
    h('td', {}, badge(job.status)),
    h('td', { text: job.priority || '' }),
    h('td', { title: job.progress_message || '' }, job.status === 'running' || job.progress ? bar(job.progress, {}, job.status) : ''),
    h('td', { className: 'hide-narrow', text: job.user_id || '' }),
    h('td', { className: 'hide-narrow' }, (job.tags || []).map((t) => h('span', { className: 'pill', text: t }))),
    h('td', {}, timeCell(job.created_at_ms)),
    h('td', { className: 'hide-narrow' }, timeCell(job.updated_at_ms)),
    h('td', {}, cancel));
}

/* ----------------------------------------------------------------- job */

const jobPage = {
  name: 'job',
  build(page, params, id) {
    this.id = id;
    this.deleteArmed = false;
    this.childrenFor = null;     //  the status the LIST of children was made at
    this.listedChildren = null;
    this.root = page;
    page.appendChild(h('p', { className: 'muted', text: 'Loading…' }));
  },
  async load() {
    const body = await api(`api/jobs/${encodeURIComponent(this.id)}`);
    const job = normJob(body.job);
    //  GET names the children only while the job has not settled; LIST's
    //  waiting_on finds them always, but it examines every job (in steps):
    //  it is asked again only when the job's status changes, not on each
    //  progress report
    let listed = this.listedChildren || [];
    if (this.childrenFor !== job.status) {
      try {
        const list = await api(`api/jobs?waiting_on=${encodeURIComponent(this.id)}&limit=100&sort=created&order=asc`);
        listed = (list.jobs || []).map((j) => normJob(j).id);
        this.listedChildren = listed;
        this.childrenFor = job.status;
      } catch (e) {
        if (e.status === 401)
          throw e;
      }
    }
    return { job, children: Array.from(new Set((body.children || []).concat(listed))) };
  },
  related() {
    return this.data ? [this.id].concat(this.data.job.parents || [], this.data.children || []) : [this.id];
  },
  render(data) {
    this.data = data;
    const job = data.job;
    replace(this.root,
      h('div', { className: 'job-head' },
        h('a', { href: '#/jobs', text: '‹ Jobs' }),
        h('h1', { id: 'job-id', className: 'mono', text: job.id }),
        badge(job.status, { id: 'job-status', 'data-status': job.status })),
      h('div', { className: 'actions panel', id: 'job-actions' }, this.actions(job)),
      h('div', { className: 'grid grid-2' },
        h('div', {}, panel('Job', jobFields(job)), panel('Progress', jobProgress(job)), panel('Timings', jobTimings(job))),
        h('div', {},
          panel('Inputs', jsonBlock('job-inputs', job.inputs)),
          panel('Outputs', jsonBlock('job-outputs', job.outputs)),
          panel('Error and attempts', jobError(job)),
          panel('Parents and children', jobFamily(job, data.children)),
          job.metadata && Object.keys(job.metadata).length ? panel('Metadata', jsonBlock('job-metadata', job.metadata)) : null)));
  },
  actions(job) {
    const buttons = [];
    for (const action of ACTIONS) {
      if (!action.from.includes(job.status) || (action.when && !action.when(job)))
        continue;
      buttons.push(h('button', { type: 'button', id: `action-${action.id || action.op}`,
                                 className: action.danger ? 'danger' : undefined, text: action.label,
                                 onclick: (ev) => act(ev.currentTarget, `${action.op} ${job.id}`, () => jobAction(job.id, action.op)) }));
    }
    //  Delete asks again; a refresh meanwhile keeps the question up
    const del = h('button', { type: 'button', id: 'action-delete', className: `danger${this.deleteArmed ? ' hidden' : ''}`,
                              text: 'Delete…', onclick: () => {
      this.deleteArmed = true;
      del.classList.add('hidden');
      sure.classList.remove('hidden');
    } });
    const sure = h('button', { type: 'button', id: 'action-delete-confirm', className: `danger${this.deleteArmed ? '' : ' hidden'}`,
                                  text: 'Delete for good', onclick: (ev) => act(ev.currentTarget, `delete ${job.id}`, async () => {
      await jobAction(job.id, 'delete');
      location.hash = '#/jobs';
    }, false) });
    buttons.push(del, sure);
    return buttons;
  },
};

function fields(id, rows) {
  return h('dl', { className: 'fields', id }, rows.filter(Boolean).map(([label, value, testid]) =>
    [h('dt', { text: label }), h('dd', { 'data-testid': testid }, value === undefined || value === null || value === '' ? '–' : value)]));
}

function jobFields(job) {
  return fields('job-fields', [
    ['workflow', h('a', { href: `#/jobs?workflow=${encodeURIComponent(job.workflow_id)}`, text: job.workflow_id }), 'job-workflow'],
    ['priority', job.priority],
    ['user', job.user_id],
    ['tags', (job.tags || []).length ? job.tags.map((t) => h('a', { className: 'pill', href: `#/jobs?tag=${encodeURIComponent(t)}`, text: t })) : ''],
    ['attempts', `${job.attempts || 0}${job.max_attempts ? ` of ${job.max_attempts}` : ''}`, 'job-attempt-count'],
    ['worker', job.worker_id, 'job-worker'],
    job.batch_id ? ['batch', h('a', { href: `#/jobs?batch=${encodeURIComponent(job.batch_id)}`, text: job.batch_id })] : null,
    job.template ? ['template', job.template] : null,
    job.schedule_id ? ['schedule', job.schedule_id] : null,
    job.idempotency_key ? ['idempotency key', job.idempotency_key] : null,
    job.unique_key ? ['unique key', job.unique_key] : null,
  ]);
}

function jobProgress(job) {
  const fraction = job.status === 'completed' ? 1 : (job.progress || 0);
  const el = bar(fraction, { id: 'job-progress', className: 'bar big' }, job.status);
  return h('div', {},
    h('div', { className: 'progress-line' }, el, h('span', { className: 'mono', text: `${Math.round(fraction * 100)} %` })),
    job.progress_message ? h('p', { className: 'muted', id: 'job-progress-message', text: job.progress_message }) : null);
}

function jobTimings(job) {
  const running = job.status === 'running' && job.started_at_ms ? Date.now() - job.started_at_ms : 0;
  return fields('job-timings', [
    ['created', timeCellFull(job.created_at_ms)],
    ['queued', timeCellFull(job.queued_at_ms)],
    ['started', timeCellFull(job.started_at_ms)],
    ['finished', timeCellFull(job.completed_at_ms)],
    ['updated', timeCellFull(job.updated_at_ms)],
    job.run_at_ms ? ['run at', timeCellFull(job.run_at_ms)] : null,
    job.scheduled_for_ms ? ['scheduled for', timeCellFull(job.scheduled_for_ms)] : null,
    ['waited for a worker', fmtDuration(job.queued_ms || 0)],
    ['ran', `${fmtDuration((job.execution_ms || 0) + running)}${running ? ' (running)' : ''}`],
    job.timeout_ms ? ['timeout', fmtDuration(job.timeout_ms)] : null,
  ]);
}

function timeCellFull(ms) {
  return ms ? h('span', {}, fmtTime(ms), h('span', { className: 'muted', text: `  (${fmtAgo(ms)})` })) : '–';
}

function jobError(job) {
  const current = job.error && (job.error.kind || job.error.message)
    ? h('div', { id: 'job-error', className: 'error-box' },
        h('strong', { text: job.error.kind || 'error' }), job.error.message ? `: ${job.error.message}` : '')
    : h('p', { id: 'job-error', className: 'muted', text: 'No error.' });
  const errors = job.errors || [];
  const history = errors.length ? h('div', { className: 'table-wrap' }, h('table', { id: 'job-attempts' },
    h('thead', {}, h('tr', {}, ['attempt', 'at', 'worker', 'error'].map((t) => h('th', { text: t })))),
    h('tbody', {}, errors.map((e) => h('tr', { 'data-testid': 'attempt-row' },
      h('td', { className: 'num', text: e.attempt }), h('td', {}, timeCell(e.at_ms)),
      h('td', { className: 'mono', text: e.worker_id || '–' }),
      h('td', {}, h('strong', { text: e.kind || '' }), e.message ? `: ${e.message}` : ''))))))
    : h('p', { id: 'job-attempts', className: 'muted', text: 'No failed attempt.' });
  return h('div', {}, current, h('h2', { text: 'Failed attempts' }), history,
           job.result_attempt ? h('p', { className: 'muted', text: `Attempt ${job.result_attempt}'s result ended the job.` }) : null);
}

function jobFamily(job, children) {
  const list = (id, ids, testid, none) => ids.length
    ? h('ul', { id, className: 'links' }, ids.map((p) => h('li', {}, jobLink(p, testid))))
    : h('p', { id, className: 'muted', text: none });
  return h('div', {},
    h('h2', { text: 'Depends on' }), list('job-parents', job.parents || [], 'parent-link', 'No parent.'),
    h('h2', { text: 'Children' }), list('job-children', children || [], 'child-link', 'No child.'));
}

/* ------------------------------------------------------------- workers */

const workersPage = {
  name: 'workers',
  build(page) {
    page.appendChild(h('h1', { text: 'Workers' }));
    this.body = page.appendChild(h('section', { className: 'panel' }));
  },
  async load() {
    return (await api('api/workers')).workers || [];
  },
  render(workers) {
    if (!workers.length) {
      replace(this.body, h('p', { className: 'empty', id: 'workers-empty', text: 'No worker connected.' }));
      return;
    }
    replace(this.body, h('div', { className: 'table-wrap' }, h('table', { id: 'workers-table' },
      h('thead', {}, h('tr', {}, ['name', 'id', 'workflows', 'load', 'busy', 'slots', 'credit', 'jobs', 'connected', 'last seen']
        .map((t) => h('th', { text: t, className: ['busy', 'slots', 'credit'].includes(t) ? 'num' : undefined })))),
      h('tbody', {}, workers.map((w) => h('tr', { 'data-testid': 'worker-row', 'data-worker': w.worker_id, 'data-name': w.name },
        h('td', { text: w.name || '' }),
        h('td', { className: 'mono', text: w.worker_id }),
        h('td', {}, (w.workflows || []).map((f) => h('a', { className: 'pill', href: `#/jobs?workflow=${encodeURIComponent(f)}`, text: f }))),
        h('td', {}, bar(w.slots ? w.busy / w.slots : 0, {}, 'running')),
        h('td', { className: 'num', 'data-testid': 'worker-busy', text: fmtNumber(w.busy || 0) }),
        h('td', { className: 'num', 'data-testid': 'worker-slots', text: fmtNumber(w.slots || 0) }),
        h('td', { className: 'num', text: fmtNumber(w.credit || 0) }),
        h('td', {}, (w.jobs || []).map((id) => h('div', {}, jobLink(id, 'worker-job')))),
        h('td', {}, timeCell(w.connected_at)),
        h('td', {}, timeCell(w.last_seen))))))));
  },
};

/* -------------------------------------------------------------- queues */

const queuesPage = {
  name: 'queues',
  build(page) {
    page.appendChild(h('h1', { text: 'Queues' }));
    this.body = page.appendChild(h('section', { className: 'panel' }));
  },
  async load() {
    return (await api('api/queues')).queues || [];
  },
  render(queues) {
    if (!queues.length) {
      replace(this.body, h('p', { className: 'empty', id: 'queues-empty', text: 'No queue yet: a workflow has one once it has jobs or settings.' }));
      return;
    }
    const limit = (v) => (v ? fmtNumber(v) : 'none');
    replace(this.body, h('div', { className: 'table-wrap' }, h('table', { id: 'queues-table' },
      h('thead', {}, h('tr', {}, ['workflow', 'state', 'queued', 'running', 'concurrency', 'rate /s', 'burst', 'held by', '']
        .map((t, i) => h('th', { text: t, className: i >= 2 && i <= 6 ? 'num' : undefined })))),
      h('tbody', {}, queues.map((queue) => {
        const name = queue.workflow_id;
        const op = queue.paused ? 'resume' : 'pause';
        return h('tr', { 'data-testid': 'queue-row', 'data-workflow': name, 'data-paused': String(!!queue.paused) },
          h('td', {}, h('a', { href: `#/jobs?workflow=${encodeURIComponent(name)}`, text: name })),
          h('td', {}, h('span', { className: `badge ${queue.paused ? 'paused-queue' : 'active-queue'}`, 'data-testid': 'queue-state',
                                  text: queue.paused ? 'paused' : 'active' })),
          h('td', { className: 'num', text: fmtNumber(queue.queued || 0) }),
          h('td', { className: 'num', text: fmtNumber(queue.running || 0) }),
          h('td', { className: 'num', text: limit(queue.concurrency) }),
          h('td', { className: 'num', text: limit(queue.rate) }),
          h('td', { className: 'num', text: queue.rate ? fmtNumber(queue.burst) : '–' }),
          h('td', { text: queue.held_by || '' }),
          h('td', {}, h('button', { type: 'button', className: `small${queue.paused ? ' primary' : ''}`, 'data-testid': `queue-${op}`,
                                    text: queue.paused ? 'Resume' : 'Pause',
                                    onclick: (ev) => act(ev.currentTarget, `${op} queue ${name}`,
                                                         () => post(`api/queues/${encodeURIComponent(name)}/${op}`)) })));
      })))));
  },
};

/* -------------------------------------------------------------- router */

const state = { page: null, generation: 0, timer: null, inflight: null, again: false, stream: null, live: false,
                lastLoadMs: 0 };

function parseHash() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'jobs' && parts[1])
    return { page: jobPage, params, id: decodeURIComponent(parts.slice(1).join('/')), nav: 'jobs' };
  if (parts[0] === 'jobs')
    return { page: jobsPage, params, nav: 'jobs' };
  if (parts[0] === 'workers')
    return { page: workersPage, params, nav: 'workers' };
  if (parts[0] === 'queues')
    return { page: queuesPage, params, nav: 'queues' };
  return { page: overviewPage, params, nav: 'overview' };
}

function route() {
  if (loginShown)
    return;
  const target = parseHash();
  state.page = target.page;
  state.generation++;
  for (const name of ['overview', 'jobs', 'workers', 'queues'])
    $(`nav-${name}`).classList.toggle('active', name === target.nav);
  const page = $('page');
  page.removeAttribute('data-page');
  replace(page);
  target.page.data = null;
  target.page.build(page, target.params, target.id);
  document.title = `zjob · ${target.page === jobPage ? target.id : target.nav}`;
  refreshNow();
}

//  Load the page shown and render it, unless the route changed meanwhile;
//  one load at a time: an event during a load asks for one more after it
async function refreshNow() {
  if (loginShown)
    return;
  //  A load for a page left meanwhile does not hold the new one back
  if (state.inflight === state.generation) {
    state.again = true;
    return;
  }
  const page = state.page;
  const generation = state.generation;
  state.inflight = generation;
  const began = Date.now();
  try {
    const data = await page.load();
    state.lastLoadMs = Date.now() - began;
    if (generation === state.generation && !loginShown) {
      page.render(data);
      $('page').setAttribute('data-page', page.name);
      $('updated-at').textContent = `updated ${fmtTime(Date.now()).slice(11, 19)}`;
    }
  } catch (e) {
    if (generation === state.generation && e.status !== 401) {
      const pageEl = $('page');
      if (!pageEl.hasAttribute('data-page') && page === jobPage)
        replace(pageEl, h('div', { className: 'panel' }, h('h1', { text: e.status === 404 ? 'No such job' : 'Error' }),
          h('p', { id: 'page-error', text: e.message }), h('a', { href: '#/jobs', text: '‹ Jobs' })));
      else
        notify('error', e.message);
    }
  } finally {
    if (state.inflight === generation)
      state.inflight = null;
    if (state.again && state.inflight === null) {
      state.again = false;
      scheduleRefresh();
    }
  }
}

//  A refresh soon: the first event sets the timer and the next ones ride
//  on it (resetting it on each would starve the page on a busy broker)
function scheduleRefresh() {
  if (state.timer)
    return;
  const delay = Math.max(REFRESH_DEBOUNCE_MS, LOAD_SHARE * state.lastLoadMs);
  state.timer = setTimeout(() => {
    state.timer = null;
    refreshNow();
  }, delay);
}

/* ---------------------------------------------------------------- live */

function setConn(kind) {
  const conn = $('conn');
  conn.setAttribute('data-state', kind);
  $('conn-label').textContent = kind === 'live' ? 'live' : kind === 'connecting' ? 'connecting' : 'offline';
}

//  Does this event change what the page shows? The job page only cares
//  about its job and its family, the list about any job; the others not
//  about progress
function relevant(type, event) {
  if (state.page === jobPage)
    return !event || !event.id || jobPage.related().includes(event.id);
  if (state.page === jobsPage)
    return true;
  //  Progress changes no count, load or queue
  if (type === 'progress')
    return false;
  if (state.page === workersPage)
    return !['queue_paused', 'queue_resumed', 'batch_finished'].includes(type);
  return true;
}

function connectEvents() {
  if (!window.EventSource) {
    setConn('offline');
    return;
  }
  const stream = new EventSource('api/events');
  state.stream = stream;
  setConn('connecting');
  stream.onopen = () => {
    state.live = true;
    setConn('live');
    scheduleRefresh();    //  what happened while the stream was down
  };
  stream.onerror = () => {
    state.live = false;
    //  EventSource retries by itself unless the server refused the stream
    setConn(stream.readyState === EventSource.CLOSED ? 'offline' : 'connecting');
    if (stream.readyState === EventSource.CLOSED) {
      stream.close();
      setTimeout(() => { if (!loginShown) connectEvents(); }, POLL_MS);
    }
  };
  const onEvent = (ev) => {
    let body = null;
    try {
      body = JSON.parse(ev.data);
    } catch (e) {
      body = null;
    }
    if (relevant(ev.type, body))
      scheduleRefresh();
  };
  for (const type of EVENT_TYPES)
    stream.addEventListener(type, onEvent);
  stream.addEventListener('message', onEvent);
}

function start() {
  window.addEventListener('hashchange', route);
  route();
  connectEvents();
  //  Without the stream, poll; the relative times on the page age too
  setInterval(() => {
    if (!state.live && !loginShown && !document.hidden)
      refreshNow();
  }, POLL_MS);
}

document.addEventListener('DOMContentLoaded', start);
