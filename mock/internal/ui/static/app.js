// iscmock dashboard: a client of the tenant's admin API, nothing more. Every value from the server
// reaches the page as text (textContent, or strings given to append), never as HTML.

const uiPath = location.pathname;
const adminBase = uiPath.slice(0, uiPath.lastIndexOf('/__admin/ui/')) + '/__admin';
const tenantName = decodeURIComponent((adminBase.match(/^\/tenants\/([^/]+)\/__admin$/) || [])[1] || '');
const isRoot = tenantName === '';

const TOKEN_KEY = 'iscmock.adminToken';
const TRAFFIC_EVERY = 400; // ms between journal polls: a request shows within a second
const MAX_ROWS = 2000; // the timeline keeps at most this many requests

const $ = (id) => document.getElementById(id);

// el builds an element; string children become text nodes, so nothing is parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// setRows replaces a table body's rows, keeping the keyboard focus on the same control of the same
// row (rows carry data-key), so that live updates never throw a keyboard user out of the table.
let rendering = false; // blur while rows are replaced is not the user's
function setRows(tbody, rows) {
  const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
  const oldRow = focused && focused.closest('tr[data-key]');
  const index = oldRow ? [...oldRow.querySelectorAll('button, a, input, select')].indexOf(focused) : -1;
  rendering = true;
  try {
    tbody.replaceChildren(...rows);
    if (oldRow && index >= 0) {
      const row = rows.find((r) => r.dataset.key === oldRow.dataset.key);
      const target = row && row.querySelectorAll('button, a, input, select')[index];
      if (target) target.focus({ preventScroll: true });
    }
  } finally {
    rendering = false;
  }
}

// changed reports whether what a part of the page shows differs from the last time it was asked.
const shownAs = new Map();
function changed(part, data) {
  const text = JSON.stringify(data);
  if (shownAs.get(part) === text) return false;
  shownAs.set(part, text);
  return true;
}

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  needToken: false,
  now: null, // the mock clock, as last read
  nowReadAt: 0, // performance.now() when it was read
  identities: [],
  identityNames: new Map(),
  rows: [], // journal entries, newest first
  lastSeq: 0,
  trafficDirty: true,
  stateLoads: 0, // loads of the State view begun: an older one that ends late draws nothing
};

class APIError extends Error {
  constructor(status, body) {
    const problems = body && Array.isArray(body.problems) ? body.problems : [];
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.problems = problems;
  }
}

// api calls the admin API with the admin token, if one was given, and reads its JSON answer;
// with raw, it reads the answer as a Blob (a document such as the export).
async function api(method, path, body, raw) {
  const headers = {};
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['Content-Type'] = typeof body === 'string' ? 'application/yaml' : 'application/json';
  }
  const res = await fetch(adminBase + path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  if (res.status === 401) {
    askForToken(state.token ? 'That token was refused.' : '');
    throw new APIError(401, { error: 'admin token required' });
  }
  if (raw && res.ok) return { res, data: await res.blob() };
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new APIError(res.status, data);
  return { res, data };
}

// ---- messages, token ----

function showMessage(text) {
  const m = $('message');
  m.textContent = text;
  m.hidden = !text;
}

function askForToken(error) {
  state.needToken = true;
  $('auth').hidden = false;
  for (const v of document.querySelectorAll('.view')) v.hidden = true;
  $('auth-error').textContent = error;
  $('auth-error').hidden = !error;
  setLive('waiting for the admin token');
  if (document.activeElement !== $('auth-token')) $('auth-token').focus();
}

$('auth-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('auth-token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $('auth-token').value = '';
  state.needToken = false;
  $('auth').hidden = true;
  showView();
  poll(true);
});

function setLive(text) { $('live').textContent = text; }

// ---- time ----

// mockNow is the mock clock now: as last read, plus the real time since.
function mockNow() {
  if (!state.now) return null;
  return new Date(state.now.getTime() + (performance.now() - state.nowReadAt));
}

const iso = (d) => d.toISOString().replace('T', ' ');
const clockText = (d) => iso(d).replace(/\.\d+Z$/, 'Z');
const timeOfDay = (d) => d.toISOString().slice(11, 23);

// parseDuration reads a duration in milliseconds, or null, with the server's grammar (90s, 1h30m,
// 25h, 3d: an optional sign, then numbers each with a unit ns, us, µs, ms, s, m, h or d; "0" alone).
function parseDuration(s) {
  const text = s.trim();
  const rest = text.replace(/^[-+]/, '');
  const sign = text.startsWith('-') ? -1 : 1;
  if (rest === '0') return 0;
  const re = /(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h|d)/y;
  const unit = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };
  let total = 0;
  let m;
  let end = 0;
  while ((m = re.exec(rest)) !== null) {
    total += parseFloat(m[1]) * unit[m[2]];
    end = re.lastIndex;
  }
  if (!rest || end !== rest.length) return null;
  return sign * total;
}

// ago says how long before now then was, in its two largest units: "3d 4h ago", "in 5m 2s".
function ago(then, now) {
  const diff = Math.round((now - then) / 1000);
  let s = Math.abs(diff);
  const units = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];
  const found = units.findIndex(([n]) => s >= n);
  const i = found === -1 ? units.length - 1 : found;
  const [n1, u1] = units[i];
  let text = `${Math.floor(s / n1)}${u1}`;
  if (i + 1 < units.length) {
    s %= n1;
    const [n2, u2] = units[i + 1];
    text += ` ${Math.floor(s / n2)}${u2}`;
  }
  return diff < 0 ? `in ${text}` : `${text} ago`;
}

// ---- views ----

const views = isRoot ? ['traffic', 'state', 'scenario', 'rights', 'control', 'tenants'] : ['traffic', 'state', 'scenario', 'rights', 'control'];
const currentView = () => (views.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'traffic');

function showView() {
  const v = currentView();
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    if (a.dataset.view === v) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (state.needToken) return;
  for (const s of document.querySelectorAll('.view')) s.hidden = s.dataset.view !== v;
}

window.addEventListener('hashchange', () => {
  // A minted token is shown once: leaving the view forgets it.
  $('mint-token').value = '';
  $('mint-out').hidden = true;
  showView();
  poll(true);
  $('main').focus({ preventScroll: true });
});

// ---- traffic ----

function statusInfo(e) {
  const s = e.status;
  if (s === 0) return { cls: 's-fault', symbol: '∅', word: 'no answer' };
  if (s < 300) return { cls: 's-ok', symbol: '✓', word: 'ok' };
  if (s < 400) return { cls: 's-ok', symbol: '↪', word: 'redirect' };
  if (s === 429) return { cls: 's-warn', symbol: '↻', word: 'throttled' };
  if (s < 500) return { cls: 's-warn', symbol: '!', word: 'client error' };
  return { cls: 's-err', symbol: '✕', word: 'server error' };
}

function statusBadge(e) {
  const info = statusInfo(e);
  return el('span', { class: `badge ${info.cls}`, title: info.word },
    el('span', { 'aria-hidden': 'true' }, info.symbol + ' '),
    e.status === 0 ? 'none' : String(e.status),
    el('span', { class: 'sr-only' }, ' ' + info.word));
}

const identityLabel = (id) => (id ? state.identityNames.get(id) || id : '');

function keep(e) {
  const op = $('f-operation').value;
  const st = $('f-status').value;
  const who = $('f-identity').value;
  if (op !== '*' && e.operation !== op) return false;
  if (who !== '*' && e.identityId !== who) return false;
  if (st === 'rule') return e.rule !== '';
  if (st === 'waived') return e.waived;
  if (st === '0') return e.status === 0;
  if (st !== '*') return Math.floor(e.status / 100) === Number(st);
  return true;
}

function trafficRow(e, fresh) {
  const open = () => openEntry(e);
  const path = e.query ? `${e.path}?${e.query}` : e.path;
  return el('tr', { 'data-key': e.seq, 'data-seq': e.seq, class: fresh ? 'fresh' : undefined, onclick: open },
    el('td', { class: 'nowrap' }, el('button', { type: 'button', class: 'linkish mono', title: iso(new Date(e.time)), 'aria-label': `Request ${e.seq} at ${iso(new Date(e.time))}: details` }, timeOfDay(new Date(e.time)))),
    el('td', {}, e.method),
    el('td', { class: 'path mono' }, path),
    el('td', {}, e.operation || '—'),
    el('td', { class: 'status' }, statusBadge(e)),
    el('td', { class: 'nowrap', title: e.identityId }, identityLabel(e.identityId)),
    el('td', { class: 'mono', title: e.clientId }, e.clientId ? e.clientId.slice(0, 8) + (e.clientId.length > 8 ? '…' : '') : ''),
    el('td', {}, e.rule ? el('span', { class: 'badge s-rule' }, e.rule) : ''),
    el('td', { class: 'cause', title: e.cause || undefined },
      e.waived ? el('span', { class: 'badge s-waived' }, 'waived') : '', e.waived ? ' ' : '', shorten(e.cause || '', 90)),
    el('td', { class: 'num' }, e.durationMs.toFixed(1)));
}

const shorten = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

// showTable shows a table, or in its place the text that says it is empty.
function showTable(table, empty, isEmpty) {
  $(table).closest('.table-wrap').hidden = isEmpty;
  $(empty).hidden = !isEmpty;
}

function renderTraffic(freshFrom) {
  const tbody = $('traffic-table').tBodies[0];
  const shown = state.rows.filter(keep);
  setRows(tbody, shown.map((e) => trafficRow(e, e.seq > freshFrom)));
  const total = state.rows.length;
  showTable('traffic-table', 'traffic-empty', total === 0);
  $('traffic-summary').textContent = total === 0 ? '' :
    `${shown.length} of ${total} requests shown, newest first; ${state.lastSeq} since the tenant started. Select a row for the full entry.`;
  state.trafficDirty = false;
}

async function pollTraffic() {
  const { res, data } = await api('GET', `/requests?after=${state.lastSeq}`);
  const gone = Number(res.headers.get('Iscmock-Journal-Gone') || 0);
  const before = state.rows.length;
  const freshFrom = state.lastSeq || Infinity; // the first read is history, not news
  state.rows = state.rows.filter((e) => e.seq > gone);
  let changed = state.rows.length !== before;
  if (data.length > 0) {
    state.rows = data.slice().reverse().concat(state.rows).slice(0, MAX_ROWS);
    state.lastSeq = data[data.length - 1].seq;
    for (const e of data) addIdentityOption(e.identityId);
    changed = true;
  }
  if (changed || state.trafficDirty) renderTraffic(freshFrom);
}

function openEntry(e) {
  const info = statusInfo(e);
  const fields = [
    ['Seq', e.seq], ['Time (mock clock)', iso(new Date(e.time))], ['Method', e.method], ['Path', e.path],
    ['Query', e.query || '—'], ['Operation', e.operation || '— (no route)'],
    ['Status', e.status === 0 ? 'none: the connection was dropped' : `${e.status} (${info.word})`],
    ['Why', e.cause ? (e.waived ? `${e.cause} (waived: soft rights)` : e.cause) : '— (the API working normally)'],
    ['Identity', e.identityId ? `${identityLabel(e.identityId)} (${e.identityId})` : '—'],
    ['Client id', e.clientId || '—'], ['Rule', e.rule || '—'], ['Request id', e.requestId || '—'],
    ['Duration', `${e.durationMs.toFixed(3)} ms`],
  ];
  $('entry-fields').replaceChildren(...fields.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));
  $('entry-said').replaceChildren(el('p', { class: 'muted' }, 'Loading what was said…'));
  $('entry-title').textContent = `Request ${e.seq}`;
  $('entry-dialog').showModal();
  act(async () => {
    let full;
    try {
      full = (await api('GET', `/requests/${e.seq}`)).data;
    } catch (err) {
      if (err.status !== 404) throw err;
      $('entry-said').replaceChildren(el('p', { class: 'muted' }, 'This request has left the journal.'));
      return;
    }
    // As text, never as HTML: what a client sent is shown, not run.
    const side = (title, m) => [el('h3', {}, title),
      el('pre', { class: 'said', 'data-part': title }, (m && m.headers) || '(no headers)'),
      el('pre', { class: 'said body', 'data-part': `${title} body` }, (m && m.body) || '(no body)')];
    $('entry-said').replaceChildren(...(full.dropped ?
      [el('p', { class: 'muted' }, 'The journal dropped this request\'s headers and bodies to keep within its 2 MiB.')] :
      [...side('Request', full.request), ...side('Response', full.response)]));
  });
}

$('entry-close').addEventListener('click', () => $('entry-dialog').close());
$('traffic-table').addEventListener('keydown', (ev) => {
  // Rows open with Enter on their time button; arrows move between rows.
  const tr = ev.target.closest('tr[data-seq]');
  if (!tr || (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp')) return;
  const next = ev.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
  if (next) { ev.preventDefault(); next.querySelector('button').focus(); }
});
for (const id of ['f-operation', 'f-status', 'f-identity']) {
  $(id).addEventListener('change', () => renderTraffic(Infinity));
}
$('traffic-clear').addEventListener('click', async () => {
  await act(() => api('DELETE', '/requests'));
  state.rows = [];
  renderTraffic(Infinity);
});

function addIdentityOption(id) {
  if (!id) return;
  for (const sel of [$('f-identity')]) {
    if (![...sel.options].some((o) => o.value === id)) sel.append(el('option', { value: id }, identityLabel(id)));
  }
}

// ---- state ----

async function loadIdentities() {
  const { data } = await api('GET', '/identities');
  state.identities = data;
  if (!changed('identities', data)) return;
  state.identityNames = new Map(data.map((i) => [i.id, i.name]));
  for (const i of data) addIdentityOption(i.id);
  state.trafficDirty = true; // names for the ids shown
  fillSelect($('p-owner'), data, 'any');
  fillSelect($('mint-identity'), data);
}

function fillSelect(sel, identities, anyLabel) {
  const value = sel.value;
  const opts = identities.map((i) => el('option', { value: i.id }, `${i.name} (${i.id})`));
  if (anyLabel) opts.unshift(el('option', { value: '' }, anyLabel));
  sel.replaceChildren(...opts);
  if ([...sel.options].some((o) => o.value === value)) sel.value = value;
}

function patFilter() {
  const used = $('p-used').value;
  $('p-since-wrap').hidden = used !== 'since';
  $('p-since-help').hidden = used !== 'since';
  $('p-custom-wrap').hidden = used !== 'custom';
  if (used === 'never') return 'lastUsed isnull';
  if (used === 'custom') return $('p-custom').value.trim();
  if (used === 'since') {
    // A duration counts back from the mock clock; a date stands as given.
    const text = $('p-since').value.trim();
    const ms = parseDuration(text);
    const now = mockNow();
    let since = ms !== null && now ? new Date(now.getTime() - ms) : null;
    if (ms === null && /^\d{4}-\d\d-\d\d/.test(text) && !Number.isNaN(Date.parse(text))) since = new Date(text);
    if (!since) return null;
    // Never-used tokens have not been used since then either.
    return `lastUsed isnull or lastUsed le ${since.toISOString()}`;
  }
  return '';
}

const yesNo = (b) => (b ? 'yes' : 'no');

async function loadState() {
  const load = ++state.stateLoads;
  await loadIdentities();
  if (load !== state.stateLoads) return;
  const now = mockNow() || new Date();
  setRows($('identities-table').tBodies[0], state.identities.map((i) => {
    const atLimit = i.tokenLimit > 0 && i.tokens >= i.tokenLimit;
    return el('tr', { 'data-key': i.id, 'data-identity': i.id },
      el('td', {}, i.name, el('div', { class: 'muted' }, i.userName)),
      el('td', { class: 'mono' }, i.id),
      el('td', {}, i.userLevels.length ? i.userLevels.map((l) => el('span', { class: 'tag' }, l)) : 'end user'),
      el('td', {}, i.rights.length ? i.rights.map((r) => el('span', { class: 'tag' }, r)) : '—'),
      el('td', {}, 'enabled' in i ? (i.enabled ? '✓ yes' : '✕ no') : '✓ yes'),
      el('td', { class: 'nowrap' },
        i.tokenLimit > 0 ? `${i.tokens} of ${i.tokenLimit}` : `${i.tokens} (no limit)`,
        i.managedTokens ? ` + ${i.managedTokens} managed` : '',
        atLimit ? el('span', { class: 'badge s-warn' }, ' at limit') : ''));
  }));

  const filter = patFilter();
  $('p-filter-text').textContent = filter || '(none)';
  const errBox = $('pat-error');
  if (filter === null) {
    errBox.textContent = 'Give a duration such as 90m, 24h or 30d, or a date such as 2026-11-01.';
    errBox.hidden = false;
    return;
  }
  const q = new URLSearchParams();
  if ($('p-owner').value) q.set('owner', $('p-owner').value);
  if (filter) q.set('filters', filter);
  let pats;
  try {
    pats = (await api('GET', `/pats?${q}`)).data;
    if (load !== state.stateLoads) return;
    errBox.hidden = true;
  } catch (err) {
    if (load !== state.stateLoads) return;
    if (err.status !== 400) throw err;
    errBox.textContent = err.message;
    errBox.hidden = false;
    pats = [];
  }
  setRows($('pats-table').tBodies[0], pats.map((p) => {
    const used = p.lastUsed ? new Date(p.lastUsed) : null;
    const exp = p.expirationDate ? new Date(p.expirationDate) : null;
    return el('tr', { 'data-key': p.id, 'data-pat': p.id },
      el('td', {}, p.name),
      el('td', { title: p.owner }, identityLabel(p.owner)),
      el('td', {}, p.scope.map((s) => el('span', { class: 'tag' }, s))),
      el('td', { class: 'nowrap', title: iso(new Date(p.created)) }, clockText(new Date(p.created))),
      el('td', { class: 'nowrap used', title: used ? iso(used) : 'never used' },
        used ? [clockText(used), el('div', { class: 'muted' }, ago(used, now))] : 'never'),
      el('td', { class: 'nowrap' }, exp ? [clockText(exp), el('div', { class: exp <= now ? 'badge s-err' : 'muted' }, exp <= now ? '✕ expired' : ago(exp, now))] : 'never'),
      el('td', {}, yesNo(p.managed)),
      el('td', { class: 'mono' }, p.id));
  }));
  showTable('pats-table', 'pats-empty', pats.length === 0);
  $('pats-table').dataset.filter = filter;
}

for (const id of ['p-owner', 'p-used', 'p-since', 'p-custom']) {
  $(id).addEventListener('change', () => refresh(loadState));
}
$('pat-filters').addEventListener('submit', (ev) => { ev.preventDefault(); refresh(loadState); });

// The tenant's state as a fixture file, saved by the browser: fetched with the admin token (a
// plain link could not send it), then handed over as a Blob.
$('state-download').addEventListener('click', () => act(async () => {
  const { data } = await api('GET', '/fixtures', undefined, true);
  const url = URL.createObjectURL(data);
  const stamp = (mockNow() || new Date()).toISOString().replace(/[:.]/g, '-');
  const a = el('a', { href: url, download: `iscmock-${isRoot ? 'root' : tenantName}-${stamp}.yaml` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000); // the browser reads it after the click returns
}));

// ---- scenario ----

async function loadScenario() {
  let sc = null;
  try {
    sc = (await api('GET', '/scenario')).data;
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  $('sc-status').textContent = sc ? `Running: ${sc.name || '(unnamed scenario)'}` : 'No scenario is loaded: every request is served normally.';
  $('sc-rules-wrap').hidden = !sc;
  $('sc-limit').hidden = !(sc && sc.rateLimit);
  if (!sc || !changed('scenario', sc)) return;
  setRows($('sc-rules').tBodies[0], (sc.rules.length ? sc.rules.map((r) => el('tr', { 'data-key': r.name, 'data-rule': r.name },
    el('td', {}, r.name), el('td', { class: 'num matched' }, r.matched), el('td', { class: 'num fired' }, r.fired))) :
    [el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'This scenario has no rules.'))]));
  const l = sc.rateLimit;
  if (!l) return;
  $('sc-limit-text').textContent = `${l.requests} requests per ${l.window}, per ${l.per} and API version. ` +
    `Current window: ${clockText(new Date(l.windowStart))} to ${clockText(new Date(l.windowEnd))}.`;
  setRows($('sc-limit-table').tBodies[0], (l.counts.length ? l.counts.map((c) => {
    const over = c.count > l.requests;
    return el('tr', {},
      el('td', { class: 'mono' }, c.key || '(everyone)'), el('td', {}, c.version),
      el('td', { class: 'num' }, `${c.count} of ${l.requests}`),
      el('td', {}, el('span', { class: `badge ${over ? 's-warn' : 's-ok'}` }, over ? '↻ throttled' : '✓ under the limit')));
  }) : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'No request in this window yet.'))]));
}

$('sc-file').addEventListener('change', async () => {
  const f = $('sc-file').files[0];
  if (f) $('sc-text').value = await f.text();
});

$('sc-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('sc-result');
  try {
    await api('PUT', '/scenario', $('sc-text').value);
    out.replaceChildren(el('p', { class: 'badge s-ok' }, '✓ Scenario loaded; its counters start at zero.'));
  } catch (err) {
    if (err.status === 401) return;
    out.replaceChildren(el('p', { class: 'error' }, `✕ ${err.message}`),
      el('ul', { class: 'error' }, (err.problems || []).map((p) => el('li', { class: 'mono' }, p))));
  }
  refresh(loadScenario);
});

$('sc-clear').addEventListener('click', async () => {
  await act(() => api('DELETE', '/scenario'));
  $('sc-result').replaceChildren(el('p', {}, 'Scenario cleared.'));
  refresh(loadScenario);
});

// ---- clock and control ----

async function loadClock() {
  const { data } = await api('GET', '/clock');
  state.now = new Date(data.now);
  state.nowReadAt = performance.now();
  $('clock-now').textContent = clockText(state.now);
  $('clock-now').setAttribute('datetime', data.now);
  $('ctl-now').textContent = clockText(state.now);
}

async function moveClock(body) {
  const { data } = await api('POST', '/clock', body);
  $('ctl-result').textContent = `Clock now ${clockText(new Date(data.now))}.`;
  await loadClock();
}

for (const b of document.querySelectorAll('button[data-advance]')) {
  b.addEventListener('click', () => act(() => moveClock({ advance: b.dataset.advance })));
}
$('ctl-advance').addEventListener('submit', (ev) => {
  ev.preventDefault();
  // Sent as typed: the server reads it, and says what is wrong with it.
  act(() => moveClock({ advance: $('ctl-duration').value.trim() }));
});
$('ctl-set').addEventListener('submit', (ev) => {
  ev.preventDefault();
  act(() => moveClock({ set: $('ctl-at').value.trim() }));
});

$('ctl-reset').addEventListener('click', () => {
  $('ctl-reset-confirm').hidden = false;
  $('ctl-reset-confirm').focus();
});
$('ctl-reset-confirm').addEventListener('click', async () => {
  $('ctl-reset-confirm').hidden = true;
  await act(() => api('POST', '/reset'));
  $('ctl-result').textContent = '✓ Tenant reset.';
  state.rows = [];
  state.trafficDirty = true;
  await loadClock();
});
$('ctl-reset-confirm').addEventListener('blur', () => { $('ctl-reset-confirm').hidden = true; });

$('mint-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const scope = $('mint-scope').value.split(/[\s,]+/).filter(Boolean);
  await act(async () => {
    const { data } = await api('POST', '/tokens', { identityId: $('mint-identity').value, scope });
    $('mint-token').value = data.access_token;
    $('mint-out').hidden = false;
    $('mint-copied').textContent = `Valid for ${data.expires_in} s of mock time.`;
    $('mint-token').select();
  });
});
$('mint-copy').addEventListener('click', async () => {
  $('mint-token').select();
  try {
    await navigator.clipboard.writeText($('mint-token').value);
    $('mint-copied').textContent = '✓ Copied.';
  } catch {
    $('mint-copied').textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
});

// ---- tenants ----

const armedDrops = new Set(); // tenants whose Drop was pressed once

async function loadTenants() {
  if (!isRoot) return;
  const { data } = await api('GET', '/tenants');
  if (!changed('tenants', [data, [...armedDrops]])) return;
  setRows($('tenants-table').tBodies[0], data.map((t) => {
    const armed = armedDrops.has(t.name);
    const drop = el('button', { type: 'button', class: 'danger', 'aria-label': armed ? `Really drop tenant ${t.name}?` : `Drop tenant ${t.name}` },
      armed ? 'Really drop?' : 'Drop');
    drop.addEventListener('click', async () => {
      if (!armedDrops.has(t.name)) {
        armedDrops.add(t.name);
      } else {
        armedDrops.delete(t.name);
        await act(() => api('DELETE', `/tenants/${encodeURIComponent(t.name)}`));
      }
      refresh(loadTenants);
    });
    drop.addEventListener('blur', () => {
      if (!rendering && armedDrops.delete(t.name)) refresh(loadTenants);
    });
    return el('tr', { 'data-key': t.name, 'data-tenant': t.name },
      el('td', { class: 'mono' }, t.name),
      el('td', { class: 'num' }, t.requests),
      el('td', {}, el('a', { href: `/tenants/${encodeURIComponent(t.name)}/__admin/ui/` }, 'Open')),
      el('td', {}, drop));
  }));
  showTable('tenants-table', 'tenants-empty', data.length === 0);
}

// ---- polling ----

// act runs a user's action, showing its failure.
async function act(fn) {
  try {
    await fn();
    showMessage('');
  } catch (err) {
    const problems = err.problems || [];
    if (err.status !== 401) showMessage(`✕ ${err.message}${problems.length ? ': ' + problems.join('; ') : ''}`);
  }
}

// refresh reloads one view's data now.
function refresh(load) {
  act(load);
}

// ---- rights ----

async function loadRights() {
  const { res, data } = await api('GET', '/rights');
  const soft = res.headers.get('Iscmock-Rights') === 'soft';
  $('rights-mode').textContent = soft ?
    'Soft rights: what the rights rules would refuse is let through, marked "waived". Below, what each identity lacked: the rights (or user level) its account needs.' :
    'Rights are enforced, as ISC does: refusals are counted below. Run with --rights soft (ISCMOCK_RIGHTS=soft) to let them through and learn all an integration needs in one run.';
  showTable('rights-table', 'rights-empty', data.length === 0);
  if (!changed('rights', data)) return;
  setRows($('rights-table').tBodies[0], data.map((r) => el('tr', { 'data-key': r.identityId, 'data-identity': r.identityId },
    el('td', {}, r.name || r.identityId, el('div', { class: 'muted mono' }, r.identityId)),
    el('td', {}, r.userLevels.length ? r.userLevels.map((l) => el('span', { class: 'tag' }, l)) : 'end user'),
    el('td', {}, el('ul', { class: 'plain' }, r.operations.map((o) => el('li', {},
      `${o.operation}: ${o.calls} call${o.calls === 1 ? '' : 's'}`,
      o.refused ? `, ${o.refused} refused` : '', o.waived ? `, ${o.waived} waived` : '')))),
    el('td', {}, r.lacked.length ? el('ul', { class: 'plain' }, r.lacked.map((l) => el('li', { 'data-lacked': l.what },
      el('code', {}, l.what), ` ×${l.count}`, l.grantedBy ? el('div', { class: 'muted' }, `${l.grantedBy} has it`) : ''))) : '— nothing'))));
}

const viewLoaders = { state: loadState, scenario: loadScenario, rights: loadRights, tenants: loadTenants };
let lastViewLoad = 0;
let timer = 0;
let polling = false;
let again = false; // a forced poll came while one ran

// poll reads the clock and the journal, and the current view's data at most once a second (at
// once when forced). One poll runs at a time, so the journal is read in order.
async function poll(force) {
  if (polling) {
    again = again || force;
    return;
  }
  clearTimeout(timer);
  polling = true;
  try {
    if (!state.needToken && document.visibilityState === 'visible') {
      if (state.identities.length === 0) await loadIdentities();
      const work = [loadClock(), pollTraffic()];
      const load = viewLoaders[currentView()];
      if (load && (force || performance.now() - lastViewLoad >= 1000)) {
        lastViewLoad = performance.now();
        work.push(load());
      }
      await Promise.all(work);
      showMessage('');
      setLive('● live');
    }
  } catch (err) {
    if (err.status !== 401) {
      setLive('○ disconnected, retrying');
      showMessage(err instanceof APIError ? `✕ ${err.message}` : '✕ The server does not answer.');
    }
  } finally {
    polling = false;
    if (again) {
      again = false;
      poll(true);
    } else {
      timer = setTimeout(() => poll(false), TRAFFIC_EVERY);
    }
  }
}

document.addEventListener('visibilitychange', () => poll(true));

// ---- start ----

$('tenant-label').textContent = isRoot ? 'root tenant' : `tenant ${tenantName}`;
document.title = `iscmock · ${isRoot ? 'root tenant' : tenantName}`;
if (!isRoot) {
  const nav = $('nav-tenants');
  nav.href = '/__admin/ui/#tenants';
  nav.textContent = 'All tenants';
  nav.removeAttribute('data-view');
}
showView();
poll(true);
