// The live board: signs in with an API key (kept in sessionStorage), shows the org's
// realtime board from GET /v1/ops/realtime/stream (server-sent events, read with fetch so
// that the key travels in the Authorization header, never in a URL), and the exception
// queue and carrier charts, read again when the board changes. Nothing is fetched from
// anywhere but this server.
'use strict';

const state = { key: null, admin: false, org: null, token: null, lastEventAt: null,
                lagSeconds: null, stream: null, refreshTimer: null, chartsTimer: null };
const $ = (id) => document.getElementById(id);

function api(path, init = {}) {
  const headers = Object.assign({ Authorization: 'Bearer ' + state.key }, init.headers || {});
  return fetch(path, Object.assign({}, init, { headers, cache: 'no-store' }));
}

function withOrg(path) {
  if (!state.admin) return path;
  return path + (path.includes('?') ? '&' : '?') + 'org=' + encodeURIComponent(state.org);
}

async function errorText(res) {
  try { const body = await res.json(); return body.error ? body.error.message || body.error : res.statusText; }
  catch (e) { return res.status + ' ' + res.statusText; }
}

// --- sign in ---------------------------------------------------------------------------

async function signIn(key) {
  state.key = key;
  $('sign-in-error').textContent = '';
  let who;
  try {
    who = await api('/v1/whoami');
  } catch (e) {
    state.key = null;
    $('sign-in-error').textContent = 'The server cannot be reached: ' + e.message;
    return;
  }
  if (!who.ok) {
    state.key = null;
    $('sign-in-error').textContent = 'This key is not valid: ' + await errorText(who);
    return;
  }
  const me = await who.json();
  state.admin = me.admin;
  sessionStorage.setItem('viya-mv-key', key);
  $('sign-in').hidden = true;
  $('board').hidden = false;
  $('sign-out').hidden = false;
  $('freshness').hidden = false;
  if (state.admin) {
    $('org-form').hidden = false;
    const org = sessionStorage.getItem('viya-mv-org') || new URLSearchParams(location.search).get('org');
    if (org) { $('org').value = org; show(org); }
  } else {
    show(me.org);
  }
}

function signOut() {
  sessionStorage.removeItem('viya-mv-key');
  sessionStorage.removeItem('viya-mv-org');
  location.reload();
}

// --- the board -------------------------------------------------------------------------

function show(org) {
  state.org = org;
  if (state.admin) sessionStorage.setItem('viya-mv-org', org);
  $('org-title').textContent = org;
  $('board-error').textContent = '';
  if (state.stream) state.stream.abort();
  follow();
  refreshQueue();
  refreshCharts();
}

function setNumber(id, value) {
  const el = $(id);
  const text = String(value);
  if (el.textContent === text) return;
  el.textContent = text;
  // A flash per change, at most one a second: a busy tile does not stay lit.
  const now = Date.now();
  if (now - (el.flashedAt || 0) < 1000) return;
  el.flashedAt = now;
  el.classList.remove('changed');
  void el.offsetWidth;  // restart the animation
  el.classList.add('changed');
}

function renderBoard(board) {
  for (const id of ['shipments', 'open', 'atRisk', 'breached', 'exceptions']) setNumber(id, board[id]);
  const max = Math.max(1, ...Object.values(board.byStatus));
  const bars = $('by-status');
  bars.replaceChildren();
  for (const [status, n] of Object.entries(board.byStatus)) {
    const label = document.createElement('span');
    label.textContent = status.replace(/_/g, ' ');
    const track = document.createElement('div');
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.width = (100 * n / max) + '%';
    track.append(bar);
    const count = document.createElement('span');
    count.className = 'n';
    count.dataset.status = status;
    count.textContent = n;
    bars.append(label, track, count);
  }
}

// Reads the SSE stream with fetch (EventSource cannot send an Authorization header) and
// reconnects after a pause when it ends.
async function follow() {
  const controller = new AbortController();
  state.stream = controller;
  const org = state.org;
  try {
    const res = await api(withOrg('/v1/ops/realtime/stream'), { signal: controller.signal });
    if (!res.ok) throw new Error(await errorText(res));
    $('stream-state').className = 'dot on';
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        onEvent(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
    $('board-error').textContent = 'live stream: ' + e.message;
  }
  $('stream-state').className = 'dot off';
  if (state.stream === controller && state.org === org) setTimeout(() => { if (state.stream === controller) follow(); }, 2000);
}

function onEvent(text) {
  let name = 'message';
  const data = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trim());
  }
  if (!data.length) return;
  const payload = JSON.parse(data.join('\n'));
  state.token = payload.token;
  if (payload.lagSeconds != null) state.lagSeconds = payload.lagSeconds;
  if (name === 'realtime') {
    state.lastEventAt = Date.now();
    $('board-error').textContent = '';
    renderBoard(payload.board);
    // The queue and the charts follow the same changes; read them again, not too often.
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refreshQueue, 300);
    if (!state.chartsTimer) state.chartsTimer = setTimeout(() => { state.chartsTimer = null; refreshCharts(); }, 3000);
  }
  renderFreshness();
}

function renderFreshness() {
  $('token').textContent = state.token ?? '–';
  $('lag').textContent = state.lagSeconds == null ? '–' : state.lagSeconds.toFixed(2) + ' s';
  $('age').textContent = state.lastEventAt == null ? '–' : Math.round((Date.now() - state.lastEventAt) / 1000) + ' s';
}

async function refreshQueue() {
  const res = await api(withOrg('/v1/exceptions?limit=20'));
  if (!res.ok) { $('board-error').textContent = await errorText(res); return; }
  const page = await res.json();
  const body = $('queue');
  body.replaceChildren();
  for (const item of page.items) {
    const tr = document.createElement('tr');
    const cells = [item.id, null, item.status, item.carrierName || item.carrierId || '',
                   item.promisedDeliveryAt || '', item.statusChangedAt || ''];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      if (i === 1) {
        const badge = document.createElement('span');
        badge.className = 'reason ' + item.reason;
        badge.textContent = item.reason.replace('_', ' ');
        td.append(badge);
      } else {
        td.textContent = text;
      }
      tr.append(td);
    });
    body.append(tr);
  }
  $('queue-count').textContent = page.items.length ? '(first ' + page.items.length + ')' : '(empty)';
}

// --- charts (SVG, drawn here: no library) ----------------------------------------------

const COLORS = ['#2e6be6', '#12b76a', '#f79009', '#d92d20', '#7a5af8', '#0ba5ec', '#ee46bc', '#667085'];
const SVG = 'http://www.w3.org/2000/svg';

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

// series: [{name, points: [{x: index, y}]}]; weeks: the x labels.
function lineChart(container, weeks, series, yMax, format) {
  container.replaceChildren();
  if (!series.some((s) => s.points.length)) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'No deliveries in these weeks yet.';
    container.append(p);
    return;
  }
  const W = 600, H = 220, L = 44, R = 10, T = 10, B = 28;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const x = (i) => L + (weeks.length <= 1 ? (W - L - R) / 2 : i * (W - L - R) / (weeks.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / yMax);
  for (let k = 0; k <= 4; ++k) {
    const v = yMax * k / 4;
    svg.append(el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'axis' }));
    svg.append(el('text', { x: L - 6, y: y(v) + 3, 'text-anchor': 'end' }, format(v)));
  }
  weeks.forEach((w, i) => {
    if (weeks.length > 8 && i % 2) return;
    svg.append(el('text', { x: x(i), y: H - 10, 'text-anchor': 'middle' }, w.slice(5)));
  });
  const colorOf = (s, n) => COLORS[(s.color ?? n) % COLORS.length];
  series.forEach((s, n) => {
    const color = colorOf(s, n);
    if (s.points.length > 1) {
      svg.append(el('polyline', { points: s.points.map((p) => `${x(p.x)},${y(p.y)}`).join(' '),
                                  fill: 'none', stroke: color, 'stroke-width': 2,
                                  'stroke-dasharray': s.dashed ? '4 3' : '' }));
    }
    for (const p of s.points) svg.append(el('circle', { cx: x(p.x), cy: y(p.y), r: 3, fill: color }));
  });
  const legend = document.createElement('div');
  legend.className = 'legend';
  series.forEach((s, n) => {
    if (s.legend === false) return;
    const item = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = colorOf(s, n);
    item.append(swatch, s.name);
    legend.append(item);
  });
  container.append(svg, legend);
}

async function refreshCharts() {
  const res = await api(withOrg('/v1/carriers/performance'));
  if (!res.ok) { $('board-error').textContent = await errorText(res); return; }
  const perf = await res.json();
  const weeks = [...new Set(perf.rows.map((r) => r.week))].sort();
  const byCarrier = new Map();
  for (const row of perf.rows) {
    const name = row.carrierName || row.carrierId;
    if (!byCarrier.has(name)) byCarrier.set(name, []);
    byCarrier.get(name).push(row);
  }
  const onTime = [], transit = [];
  let transitMax = 1;
  for (const [name, rows] of byCarrier) {
    const at = (r) => weeks.indexOf(r.week);
    onTime.push({ name, points: rows.filter((r) => r.onTimeRate != null).map((r) => ({ x: at(r), y: r.onTimeRate })) });
    const p50 = rows.filter((r) => r.transitHours.p50 != null).map((r) => ({ x: at(r), y: r.transitHours.p50 }));
    const p95 = rows.filter((r) => r.transitHours.p95 != null).map((r) => ({ x: at(r), y: r.transitHours.p95 }));
    for (const p of p95) transitMax = Math.max(transitMax, p.y);
    transit.push({ name: name + ' p50', points: p50, color: onTime.length - 1 },
                 { name: name + ' p95 (dashed)', points: p95, dashed: true, color: onTime.length - 1, legend: false });
  }
  lineChart($('on-time-chart'), weeks, onTime, 1, (v) => Math.round(v * 100) + '%');
  lineChart($('transit-chart'), weeks, transit, Math.ceil(transitMax / 24) * 24, (v) => Math.round(v) + ' h');
}

// --- start -----------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('key').value.trim()); });
  $('org-form').addEventListener('submit', (e) => { e.preventDefault(); show($('org').value.trim()); });
  $('sign-out').addEventListener('click', signOut);
  setInterval(renderFreshness, 1000);
  const saved = sessionStorage.getItem('viya-mv-key');
  if (saved) signIn(saved);
});
