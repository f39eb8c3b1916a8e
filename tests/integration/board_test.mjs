#!/usr/bin/env node
// End-to-end test of the live board (GET /, src/http/board/) in a real browser: Debian's
// Chromium, headless, driven by playwright-core (tools/board; no browser download).
//
//   node tests/integration/board_test.mjs BINARY [--screenshot PATH]
//   (tests/integration/board_test.sh installs tools/board's dependencies first)
//
// Starts `BINARY serve` on a fresh data folder (free port, heartbeat 500 ms) with a tenant
// key of org `acme` and an admin key, seeds both `acme` and `globex` through the write API
// (delivered shipments over six weeks for two carriers, some late; breached, at-risk and
// on-track open ones; one shipment put in exception and one delivered by tracking events),
// then checks, as a person would see it:
//   a. signed in with the tenant key, the tiles and the by-status bars show the seeded counts;
//   b. a shipment written through the API shows in the shipments tile within 1 s (the time
//      from the write's answer to the DOM change, 5 runs, median printed; any run above
//      1000 ms fails);
//   c. the freshness strip shows the views' token and, after a heartbeat, the lag;
//   d. the exception queue lists the seeded exception and breached shipments in the API's
//      order; both charts are SVG with one point per (carrier, week) the API answers;
//   e. no request leaves the server's origin, no console error, no page error, no CSP
//      violation (in every phase; the bad-key phase expects exactly its one 401);
//   f. a tenant key never sees another org (403 from the API; `/?org=other` still shows its
//      own); signing out and in with the admin key shows the org picker, and each org it
//      enters shows that org's board, live;
//   g. a bad key shows an error and no board.
// With --screenshot PATH it then runs `BINARY demo` (four orgs, a realistic load), signs
// in with the demo's tenant key and saves a full-page PNG of the board, 1280 px wide.
//
// Every wait has a deadline; the whole run has one too. Every process it starts is ended
// and its temporary folders are removed, also on failure or on a signal. Prints one line
// per check and `board_test: N passed, M failed`; exits 0 when all pass, 1 otherwise.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HEARTBEAT_MS = 500;
const LIVE_BUDGET_MS = 1000;
const LIVE_RUNS = 5;
const STEP_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 30_000;
const TOTAL_TIMEOUT_MS = 240_000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                       '--disable-component-update', '--no-first-run'];
const WIDTH = 1280;

const HOUR = 3600e3;
const DAY = 24 * HOUR;

const here = path.dirname(fileURLToPath(import.meta.url));
const toolsDir = path.resolve(here, '../../tools/board');

// ---- results, logging ----------------------------------------------------------------------

let passed = 0;
let failed = 0;
let aborting = false;  // set by abort(): a signal or the overall deadline

function log(line) {
  if (!aborting || /^(FAIL|board_test)/.test(line)) process.stdout.write(line + '\n');
}

function check(name, ok, detail) {
  if (aborting) return ok;
  if (ok) {
    ++passed;
    log(`ok   ${name}`);
  } else {
    ++failed;
    log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  }
  return ok;
}

class Fatal extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// For a race with a deadline: a timer that does not keep the process alive once the race
// is won.
const after = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- arguments, prerequisites --------------------------------------------------------------

function usage(message) {
  if (message) process.stderr.write(`board_test: ${message}\n`);
  process.stderr.write('usage: board_test.mjs BINARY [--screenshot PATH]\n');
  process.exit(2);
}

const argv = process.argv.slice(2);
let binary = null;
let screenshotPath = null;
for (let i = 0; i < argv.length; ++i) {
  if (argv[i] === '--screenshot') {
    if (i + 1 >= argv.length) usage('--screenshot needs a PATH');
    screenshotPath = path.resolve(argv[++i]);
  } else if (argv[i].startsWith('-')) {
    usage(`unknown option ${argv[i]}`);
  } else if (binary == null) {
    binary = path.resolve(argv[i]);
  } else {
    usage(`unexpected argument ${argv[i]}`);
  }
}
if (binary == null) usage('no BINARY');

function prerequisite(ok, message) {
  if (!ok) {
    process.stderr.write(`board_test: ${message}\n`);
    log('board_test: 0 passed, 1 failed');
    process.exit(1);
  }
}

prerequisite(Number(process.versions.node.split('.')[0]) >= 20,
             `Node.js ${process.version} is too old; it needs 20 or newer (scripts/install-deps.sh installs it)`);
let executable = false;
try { fs.accessSync(binary, fs.constants.X_OK); executable = fs.statSync(binary).isFile(); } catch { /* below */ }
prerequisite(executable, `no executable viya-mv at ${binary}`);
let chromiumOk = false;
try { fs.accessSync(CHROMIUM, fs.constants.X_OK); chromiumOk = true; } catch { /* below */ }
prerequisite(chromiumOk, `no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium; ` +
                         'scripts/install-deps.sh does) or set CHROMIUM to one');
let chromium;
try {
  ({ chromium } = createRequire(path.join(toolsDir, 'package.json'))('playwright-core'));
} catch (e) {
  prerequisite(false, `playwright-core is not installed in tools/board (${e.code || e.message}); ` +
                      'run tools/board/ensure-deps.sh, or the test through tests/integration/board_test.sh');
}
if (screenshotPath) {
  prerequisite(fs.existsSync(path.dirname(screenshotPath)), `no folder ${path.dirname(screenshotPath)} for the screenshot`);
}

// ---- processes and temporary folders, always cleaned up ------------------------------------

const children = new Set();
const tempDirs = new Set();
let browser = null;

function makeTempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'viya-mv-board-'));
  tempDirs.add(dir);
  return dir;
}

function removeTempDirs() {
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempDirs.clear();
}

function killChildrenNow() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
}

// A process of the binary; its output is kept (the last lines) for failure reports.
function startProcess(name, args, env) {
  const child = spawn(binary, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.label = name;
  child.lines = [];
  child.stdoutText = '';
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child);
    child.exitCode_ = code;
    child.exitSignal = signal;
    resolve();
  }));
  children.add(child);
  const keep = (chunk, isStdout) => {
    const text = chunk.toString();
    if (isStdout && child.stdoutText.length < 1 << 20) child.stdoutText += text;
    for (const line of text.split('\n')) if (line) child.lines.push(line);
    if (child.lines.length > 200) child.lines.splice(0, child.lines.length - 200);
  };
  child.stdout.on('data', (c) => keep(c, true));
  child.stderr.on('data', (c) => keep(c, false));
  child.on('error', (e) => child.lines.push(`spawn error: ${e.message}`));
  return child;
}

async function stopProcess(child, graceMs = 5000) {
  if (!children.has(child)) return;
  child.kill('SIGTERM');
  const ended = await Promise.race([child.exited.then(() => true), after(graceMs).then(() => false)]);
  if (!ended) {
    log(`${child.label}: still running ${graceMs} ms after SIGTERM; killing it`);
    child.kill('SIGKILL');
    await Promise.race([child.exited, after(5000)]);
  }
}

function dumpLog(child, lines = 30) {
  log(`---- last lines of ${child.label} ----`);
  for (const line of child.lines.slice(-lines)) log('  ' + line);
}

let cleaningUp = false;
async function cleanup() {
  if (cleaningUp) return;
  cleaningUp = true;
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), after(5000)]);
  }
  await Promise.all([...children].map((c) => stopProcess(c).catch(() => {})));
  killChildrenNow();
  removeTempDirs();
}

// A signal or the overall deadline: no more checks, everything started is ended, exit 1.
function abort(reason) {
  if (aborting) return;
  aborting = true;
  ++failed;
  log(`FAIL ${reason}`);
  log(`board_test: ${passed} passed, ${failed} failed`);
  const force = setTimeout(() => process.exit(1), 8000);
  cleanup().finally(() => { clearTimeout(force); process.exit(1); });
}

process.on('exit', () => { killChildrenNow(); removeTempDirs(); });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => abort(`stopped by ${signal}`));
const overall = setTimeout(() => abort(`the whole test within ${TOTAL_TIMEOUT_MS / 1000} s`), TOTAL_TIMEOUT_MS);

// ---- the server ----------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function createKey(dataDir, args) {
  const r = spawnSync(binary, ['apikey', 'create', '--data', dataDir, ...args],
                      { encoding: 'utf8', timeout: 30_000 });
  const key = (r.stdout || '').trim();
  if (r.status !== 0 || !/^vmv_[0-9a-f]+$/.test(key)) {
    throw new Fatal(`apikey create ${args.join(' ')}: exit ${r.status}${r.error ? ' ' + r.error.message : ''}: ` +
                    `${(r.stderr || '').trim()} ${key}`);
  }
  return key;
}

// Starts `BINARY <command> --data DIR --http 127.0.0.1:PORT` on a free port and waits for
// /healthz (and, when given, for `ready(child)`); another port when it could not listen.
async function startServer(name, command, dataDir, ready) {
  for (let attempt = 1; attempt <= 3; ++attempt) {
    const port = await freePort();
    const child = startProcess(name, [command, '--data', dataDir, '--http', `127.0.0.1:${port}`],
                               { VIYA_MV_HTTP_STREAM_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && children.has(child)) {
      try {
        const res = await fetch(base + '/healthz', { signal: AbortSignal.timeout(1000) });
        if (res.ok && (!ready || ready(child))) return { child, port, base };
      } catch { /* not listening yet */ }
      await sleep(50);
    }
    if (children.has(child)) {
      dumpLog(child);
      await stopProcess(child);
      throw new Fatal(`${name} did not become ready within ${START_TIMEOUT_MS / 1000} s`);
    }
    dumpLog(child, 10);
    log(`${name} exited (code ${child.exitCode_}, signal ${child.exitSignal}) on port ${port}; attempt ${attempt} of 3`);
  }
  throw new Fatal(`${name} could not start`);
}

// ---- the API, from here ----------------------------------------------------------------------

let base = null;

async function api(method, pathAndQuery, key, body) {
  const headers = { Authorization: 'Bearer ' + key };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + pathAndQuery, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

async function write(method, pathAndQuery, key, body) {
  const r = await api(method, pathAndQuery, key, body);
  if (r.status !== 200 || !r.json || typeof r.json.token !== 'string') {
    throw new Fatal(`${method} ${pathAndQuery}: ${r.status} ${r.text.slice(0, 300)}`);
  }
  return r.json.token;
}

// Only the status of a stream request (the body, if any, is not read).
async function streamStatus(pathAndQuery, key) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), STEP_TIMEOUT_MS);
  try {
    const res = await fetch(base + pathAndQuery, { headers: { Authorization: 'Bearer ' + key }, signal: controller.signal });
    return res.status;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

// ---- the seed --------------------------------------------------------------------------------

const iso = (ms) => new Date(ms).toISOString();

// acme: 48 delivered (6 weeks x 2 carriers x 4; promise 48 h after pickup, transit 25-84 h,
// so some late), 3 breached, 2 at risk, 4 on track, 1 in exception (by a tracking event),
// 1 delivered by tracking events (the events arrive before the shipment).
function acmeSeed(now) {
  const shipments = [];
  const events = [];
  const carriers = ['dhl', 'ups'];
  for (let w = 1; w <= 6; ++w) {
    carriers.forEach((carrierId, c) => {
      for (let i = 0; i < 4; ++i) {
        const pickedUp = now - w * 7 * DAY - (c * 4 + i) * 5 * HOUR;
        const transit = (20 + 9 * i + 5 * w + 7 * c) * HOUR;
        shipments.push({
          id: `S-W${w}-${carrierId}-${i}`, reference: `PO-${w}${c}${i}`, customerId: `C-${1 + (i % 3)}`,
          carrierId, service: 'express', status: 'delivered', origin: { country: 'NL', postalCode: '1012' },
          destination: { country: 'DE' }, weightKg: 1.5 + i, declaredValue: 40 + 10 * i, currency: 'EUR',
          createdAt: iso(pickedUp - 2 * HOUR), statusChangedAt: iso(pickedUp + transit),
          promisedDeliveryAt: iso(pickedUp + 48 * HOUR), pickedUpAt: iso(pickedUp), deliveredAt: iso(pickedUp + transit),
        });
      }
    });
  }
  const open = (id, status, carrierId, createdAt, promised, extra = {}) => shipments.push({
    id, reference: `PO-${id}`, customerId: 'C-1', carrierId, service: 'express', status,
    origin: { country: 'NL' }, destination: { country: 'BE' }, weightKg: 3, declaredValue: 75, currency: 'EUR',
    createdAt: iso(createdAt), promisedDeliveryAt: iso(promised), ...extra,
  });
  for (let i = 1; i <= 3; ++i) {
    open(`S-BR-${i}`, 'in_transit', i % 2 ? 'dhl' : 'ups', now - 4 * DAY, now - DAY - i * HOUR,
         { pickedUpAt: iso(now - 3 * DAY), statusChangedAt: iso(now - 3 * DAY) });
  }
  for (let i = 1; i <= 2; ++i) {
    open(`S-AR-${i}`, 'in_transit', 'ups', now - 2 * DAY, now + 2 * HOUR + i * 10 * 60e3,
         { pickedUpAt: iso(now - DAY), statusChangedAt: iso(now - DAY) });
  }
  for (let i = 1; i <= 4; ++i) open(`S-OK-${i}`, 'booked', 'dhl', now - HOUR - i * 60e3, now + 3 * DAY);
  open('S-EXC-1', 'in_transit', 'dhl', now - 2 * DAY, now + 2 * DAY,
       { pickedUpAt: iso(now - DAY), statusChangedAt: iso(now - 20 * HOUR) });
  events.push({ eventId: 'E-EXC-1', shipmentId: 'S-EXC-1', carrierId: 'dhl', code: 'EX', occurredAt: iso(now - HOUR),
                location: 'Utrecht hub' });
  // Delivered by its tracking events only (the document still says booked, as of long ago).
  open('S-TRK-1', 'booked', 'ups', now - 10 * DAY, now - 7 * DAY, { statusChangedAt: iso(now - 10 * DAY) });
  events.push({ eventId: 'E-TRK-PU', shipmentId: 'S-TRK-1', carrierId: 'ups', code: 'PU', occurredAt: iso(now - 9 * DAY) },
              { eventId: 'E-TRK-DL', shipmentId: 'S-TRK-1', carrierId: 'ups', code: 'DL',
                occurredAt: iso(now - 9 * DAY + 30 * HOUR) });
  // At risk: the two within the window of their promise and the one in exception.
  const expected = {
    shipments: shipments.length, open: 3 + 2 + 4 + 1, atRisk: 2 + 1, breached: 3, exceptions: 1,
    byStatus: { booked: 4, picked_up: 0, in_transit: 5, out_for_delivery: 0, delivered: 49, exception: 1,
                returned: 0, cancelled: 0 },
  };
  return { shipments, events, expected };
}

function globexSeed(now) {
  return [1, 2, 3].map((i) => ({
    id: `G-${i}`, carrierId: 'dhl', status: 'booked', createdAt: iso(now - i * HOUR), promisedDeliveryAt: iso(now + 4 * DAY),
  }));
}

function liveShipment(id, now) {
  return { id, carrierId: 'dhl', service: 'express', status: 'booked', createdAt: iso(now), promisedDeliveryAt: iso(now + 5 * DAY) };
}

// ---- the browser -----------------------------------------------------------------------------

// A fresh browser context (its own sessionStorage) whose requests, console and CSP
// violations are recorded.
async function openPage(label, origin) {
  const context = await browser.newContext({ viewport: { width: WIDTH, height: 900 }, deviceScaleFactor: 1 });
  const mon = { label, origin, offsite: [], requests: [], console: [], pageErrors: [], csp: [] };
  context.on('request', (req) => {
    mon.requests.push(`${req.method()} ${req.url()}`);
    let ok = false;
    try { ok = new URL(req.url()).origin === origin; } catch { /* not a URL */ }
    if (!ok) mon.offsite.push(req.url());
  });
  await context.exposeFunction('__boardTestCsp', (what) => mon.csp.push(what));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__boardTestCsp(`${e.effectiveDirective || e.violatedDirective} blocked ${e.blockedURI || 'inline'} ` +
                            `(${e.sourceFile || ''}:${e.lineNumber || ''})`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location() && msg.location().url;
    mon.console.push({ text: msg.text(), url: where || '' });
    if (/Content Security Policy/i.test(msg.text())) mon.csp.push(msg.text());
  });
  page.on('pageerror', (err) => mon.pageErrors.push(err.message));
  return { context, page, mon };
}

// (e) for one phase: `allowed` are the console errors the phase causes on purpose
// ({status, path}: a failed load with that status of that path).
function checkClean(mon, allowed = []) {
  const unexpected = mon.console.filter((m) => !allowed.some((a) =>
    m.text.includes(`status of ${a.status}`) && m.url === mon.origin + a.path));
  const missing = allowed.filter((a) => !mon.console.some((m) =>
    m.text.includes(`status of ${a.status}`) && m.url === mon.origin + a.path));
  check(`e. ${mon.label}: every request went to ${mon.origin} (${mon.requests.length} requests)`,
        mon.offsite.length === 0, mon.offsite.join(', '));
  check(`e. ${mon.label}: no console error` + (allowed.length ? ` but the expected ${allowed.map((a) => a.status + ' ' + a.path).join(', ')}` : ''),
        unexpected.length === 0 && missing.length === 0,
        [...unexpected.map((m) => `"${m.text}"${m.url ? ' at ' + m.url : ''}`),
         ...missing.map((a) => `no console error for the expected ${a.status} of ${a.path}`)].join('; '));
  check(`e. ${mon.label}: no page error`, mon.pageErrors.length === 0, mon.pageErrors.join('; '));
  check(`e. ${mon.label}: no CSP violation`, mon.csp.length === 0, mon.csp.join('; '));
}

const text = (page, selector) => page.evaluate((s) => {
  const node = document.querySelector(s);
  return node ? node.textContent : null;
}, selector);

// Waits until the element's text is `want` (a string) or matches it (a RegExp); returns
// whether it did, and the text it had last.
async function waitText(page, selector, want, timeout = STEP_TIMEOUT_MS) {
  const spec = want instanceof RegExp ? { re: want.source, flags: want.flags } : { eq: String(want) };
  try {
    await page.waitForFunction(([s, w]) => {
      const node = document.querySelector(s);
      if (!node) return false;
      return w.re != null ? new RegExp(w.re, w.flags).test(node.textContent) : node.textContent === w.eq;
    }, [selector, spec], { timeout, polling: 20 });
    return { ok: true, last: await text(page, selector) };
  } catch (e) {
    if (e.name !== 'TimeoutError') throw e;
    return { ok: false, last: await text(page, selector) };
  }
}

async function waitFor(page, fn, arg, timeout = STEP_TIMEOUT_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 50 });
    return true;
  } catch (e) {
    if (e.name !== 'TimeoutError') throw e;
    return false;
  }
}

const TILES = ['shipments', 'open', 'atRisk', 'breached', 'exceptions'];

async function tiles(page) {
  return page.evaluate((ids) => Object.fromEntries(ids.map((id) =>
    [id, document.querySelector(`[data-testid=${id}]`).textContent])), TILES);
}

async function signIn(page, key) {
  await page.fill('#key', key);
  await page.click('#sign-in-form button[type=submit]');
}

// (b) One write, timed from its answer to the tile showing the new count (a
// MutationObserver in the page stamps the change; page and test share the clock).
async function timedLiveUpdate(page, selector, writeFn, expected) {
  await page.evaluate(([s, want]) => {
    window.__boardTestSeen = new Promise((resolve) => {
      const node = document.querySelector(s);
      const observer = new MutationObserver(() => {
        if (node.textContent === want) { observer.disconnect(); resolve(Date.now()); }
      });
      observer.observe(node, { childList: true, characterData: true, subtree: true });
      setTimeout(() => { observer.disconnect(); resolve(null); }, 5000);
    });
  }, [selector, String(expected)]);
  await writeFn();
  const answeredAt = Date.now();
  const seenAt = await page.evaluate(() => window.__boardTestSeen);
  return seenAt == null ? null : seenAt - answeredAt;
}

// ---- the phases -------------------------------------------------------------------------------

async function boardTest() {
  const dataDir = makeTempDir();
  const tenantKey = createKey(dataDir, ['--org', 'acme']);
  const adminKey = createKey(dataDir, ['--admin', '--name', 'board-test']);
  const server = await startServer('viya-mv serve', 'serve', dataDir);
  base = server.base;
  log(`server on ${base} (data ${dataDir})`);

  try {
    // -- seed
    const now = Date.now();
    const acme = acmeSeed(now);
    await write('PUT', '/v1/carriers/dhl', tenantKey, { name: 'DHL Express', services: { express: { name: 'Express', transitDays: 2 } } });
    await write('PUT', '/v1/carriers/ups', tenantKey, { name: 'UPS', services: { express: { name: 'Express Saver', transitDays: 2 } } });
    for (let i = 1; i <= 3; ++i) await write('PUT', `/v1/customers/C-${i}`, tenantKey, { name: `Customer ${i}` });
    await write('POST', '/v1/tracking-events', tenantKey, acme.events);
    let token = await write('POST', '/v1/shipments', tenantKey, acme.shipments);
    await write('PUT', '/v1/carriers/dhl?org=globex', adminKey, { name: 'DHL Freight' });
    const globexToken = await write('POST', '/v1/shipments?org=globex', adminKey, globexSeed(now));
    if (BigInt(globexToken) > BigInt(token)) token = globexToken;

    const board = await api('GET', `/v1/ops/realtime?minToken=${token}`, tenantKey);
    if (board.status !== 200) throw new Fatal(`GET /v1/ops/realtime after the seed: ${board.status} ${board.text}`);
    const want = acme.expected;
    check('seed: the API\'s board has the seeded counts',
          TILES.every((k) => board.json[k] === want[k]) &&
          Object.entries(want.byStatus).every(([s, n]) => (board.json.byStatus[s] || 0) === n),
          `want ${JSON.stringify(want)}, API ${board.text}`);
    const queue = (await api('GET', `/v1/exceptions?limit=20&minToken=${token}`, tenantKey)).json;
    const perf = (await api('GET', `/v1/carriers/performance?minToken=${token}`, tenantKey)).json;
    const onTimePoints = perf.rows.filter((r) => r.onTimeRate != null).length;
    const transitPoints = perf.rows.filter((r) => r.transitHours.p50 != null).length +
                          perf.rows.filter((r) => r.transitHours.p95 != null).length;
    const lateRows = perf.rows.filter((r) => r.onTimeRate != null && r.onTimeRate < 1).length;
    check(`seed: carrier performance has ${perf.rows.length} rows over ${new Set(perf.rows.map((r) => r.week)).size} weeks, ${lateRows} with late deliveries`,
          perf.rows.length >= 12 && lateRows > 0, JSON.stringify(perf).slice(0, 300));

    // -- tenant
    await tenantPhase({ tenantKey, adminKey, want, queue, onTimePoints, transitPoints, token });
  } finally {
    await stopProcess(server.child);
    check('the server exits 0 on SIGTERM', server.child.exitCode_ === 0,
          `code ${server.child.exitCode_}, signal ${server.child.exitSignal}`);
    if (failed) dumpLog(server.child, 20);
  }
}

async function tenantPhase({ tenantKey, adminKey, want, queue, onTimePoints, transitPoints, token }) {
  const { context, page, mon } = await openPage('tenant and admin', base);
  await page.goto(base + '/');
  check('the sign-in form shows and the board does not before signing in',
        await page.isVisible('#sign-in') && !(await page.isVisible('#board')) && !(await page.isVisible('#sign-out')));
  check('no freshness strip before signing in', !(await page.isVisible('[data-testid=freshness]')),
        '#freshness has the hidden attribute but shows (board.css `.freshness { display: flex }` overrides it)');

  // a. tiles and bars
  await signIn(page, tenantKey);
  const shown = await waitText(page, '[data-testid=shipments]', want.shipments);
  const t = await tiles(page);
  check('a. the tiles show the seeded counts',
        shown.ok && TILES.every((k) => t[k] === String(want[k])),
        `want ${JSON.stringify(Object.fromEntries(TILES.map((k) => [k, want[k]])))}, shown ${JSON.stringify(t)}`);
  const bars = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#by-status .n')]
    .map((n) => [n.dataset.status, Number(n.textContent)])));
  check('a. the by-status bars show the seeded counts',
        Object.entries(want.byStatus).every(([s, n]) => (bars[s] || 0) === n), `shown ${JSON.stringify(bars)}`);
  check('a. the org\'s name heads the board', (await text(page, '#org-title')) === 'acme', await text(page, '#org-title'));
  check('a. a tenant key gets no org picker', !(await page.isVisible('#org-form')),
        '#org-form has the hidden attribute but shows (board.css `form { display: flex }` overrides it)');

  // c. freshness: the token, then the lag from a heartbeat
  const tok = await waitText(page, '[data-testid=token]', /^\d+$/);
  check('c. the freshness strip shows the views\' token', tok.ok && BigInt(tok.last) >= BigInt(token),
        `shown ${tok.last}, the seed's last write was ${token}`);
  check('c. the live-stream dot is on', await waitFor(page, () => document.getElementById('stream-state').className === 'dot on'));
  const lag = await waitText(page, '[data-testid=lag]', /^\d+\.\d\d s$/, 4 * HEARTBEAT_MS + 3000);
  check(`c. the freshness strip shows the lag after a heartbeat (${lag.last})`, lag.ok, `shown ${lag.last}`);
  const age = await waitText(page, '[data-testid=age]', /^\d+ s$/);
  check(`c. the freshness strip shows the age of the last change (${age.last})`, age.ok, `shown ${age.last}`);

  // d. the exception queue and the charts
  const wantIds = queue.items.map((i) => i.id);
  const queueOk = await waitFor(page, (ids) => [...document.querySelectorAll('#queue tr')]
    .map((tr) => tr.cells[0].textContent).join(',') === ids.join(','), wantIds);
  const rows = await page.evaluate(() => [...document.querySelectorAll('#queue tr')].map((tr) =>
    ({ id: tr.cells[0].textContent, reason: tr.cells[1].textContent, carrier: tr.cells[3].textContent })));
  check(`d. the exception queue lists the API's ${wantIds.length} entries in its order`, queueOk,
        `want ${wantIds.join(',')}, shown ${rows.map((r) => r.id).join(',')}`);
  const exc = rows.find((r) => r.id === 'S-EXC-1');
  check('d. the seeded exception is in the queue, as an exception, with its carrier\'s name',
        exc && exc.reason === 'exception' && exc.carrier === 'DHL Express', JSON.stringify(exc));
  check('d. the breached shipments lead the queue',
        rows.slice(0, 3).map((r) => `${r.id}:${r.reason}`).join(',') === 'S-BR-3:breached,S-BR-2:breached,S-BR-1:breached',
        JSON.stringify(rows.slice(0, 3)));
  const points = (id) => page.evaluate((i) => document.querySelectorAll(`[data-testid=${i}] svg circle`).length, id);
  const chartsOk = await waitFor(page, ([a, b]) =>
    document.querySelectorAll('[data-testid=on-time-chart] svg circle').length === a &&
    document.querySelectorAll('[data-testid=transit-chart] svg circle').length === b, [onTimePoints, transitPoints]);
  check(`d. the on-time chart is an SVG with the API's ${onTimePoints} points`, chartsOk && (await points('on-time-chart')) === onTimePoints,
        `shown ${await points('on-time-chart')}`);
  check(`d. the transit chart is an SVG with the API's ${transitPoints} points (p50 and p95)`,
        chartsOk && (await points('transit-chart')) === transitPoints, `shown ${await points('transit-chart')}`);
  const chart = await page.evaluate(() => ({
    lines: document.querySelectorAll('[data-testid=on-time-chart] svg polyline').length,
    legend: [...document.querySelectorAll('[data-testid=on-time-chart] .legend span')].map((s) => s.textContent),
  }));
  check('d. the on-time chart draws a line per carrier with its name in the legend',
        chart.lines === 2 && chart.legend.join(',') === 'DHL Express,UPS', JSON.stringify(chart));

  // b. live: a write shows in the tile within a second
  const times = [];
  let count = want.shipments;
  for (let i = 1; i <= LIVE_RUNS; ++i) {
    const ms = await timedLiveUpdate(page, '[data-testid=shipments]',
      () => write('POST', '/v1/shipments', tenantKey, liveShipment(`S-LIVE-${i}`, Date.now())), count + 1);
    count += 1;
    // Negative: the tile changed before this process had read the write's answer.
    log(`     live update ${i}: ${ms == null ? 'not seen within 5 s'
      : ms < 0 ? `0 ms (the tile changed ${-ms} ms before the write's answer was read here)` : ms + ' ms'}`);
    times.push(ms == null ? Infinity : Math.max(0, ms));
  }
  log(`     live update median: ${median(times)} ms (budget ${LIVE_BUDGET_MS} ms)`);
  check(`b. each of ${LIVE_RUNS} writes shows in the shipments tile within ${LIVE_BUDGET_MS} ms ` +
        `(median ${median(times)} ms, max ${Math.max(...times)} ms)`, times.every((ms) => ms <= LIVE_BUDGET_MS),
        times.join(', '));
  check('b. the open tile follows', (await waitText(page, '[data-testid=open]', want.open + LIVE_RUNS)).ok,
        `shown ${await text(page, '[data-testid=open]')}`);

  // f. a tenant never sees another org
  const refused = {};
  for (const p of ['/v1/ops/realtime?org=globex', '/v1/exceptions?org=globex', '/v1/carriers/performance?org=globex']) {
    refused[p] = (await api('GET', p, tenantKey)).status;
  }
  refused['/v1/ops/realtime/stream?org=globex'] = await streamStatus('/v1/ops/realtime/stream?org=globex', tenantKey);
  check('f. the tenant key is refused (403) every read of another org', Object.values(refused).every((s) => s === 403),
        JSON.stringify(refused));
  if (await page.isVisible('#org-form')) {
    // The picker is for admin keys only; where a tenant has it anyway, it must not put
    // another org's name over the tenant's own numbers.
    await page.fill('#org', 'globex');
    await page.click('#org-form button[type=submit]');
    await sleep(500);
    const title = await text(page, '#org-title');
    check('f. the org picker cannot relabel a tenant\'s board as another org', title === 'acme',
          `the tenant entered globex: the title says ${title} over acme's ${await text(page, '[data-testid=shipments]')} shipments`);
  }
  await page.goto(base + '/?org=globex');
  const own = await waitText(page, '[data-testid=shipments]', count);
  check('f. a tenant at /?org=globex still sees its own board (signed in from this tab\'s session)',
        own.ok && (await text(page, '#org-title')) === 'acme',
        `title ${await text(page, '#org-title')}, shipments ${own.last}`);

  // f. sign out, then the admin key
  await Promise.all([page.waitForEvent('load'), page.click('#sign-out')]);
  const signedOut = await page.evaluate(() => sessionStorage.getItem('viya-mv-key'));
  check('f. signing out forgets the key and shows the sign-in form again',
        signedOut == null && await page.isVisible('#sign-in') && !(await page.isVisible('#board')));
  // Still at /?org=globex: an admin key shows that org at once, with the picker.
  await signIn(page, adminKey);
  const picker = await waitFor(page, () => {
    const form = document.getElementById('org-form');
    return !document.getElementById('board').hidden && !form.hidden && form.offsetParent !== null;
  });
  const fromAddress = await waitText(page, '[data-testid=shipments]', 3);
  check('f. the admin key shows the org picker, and the org of the address (/?org=globex)',
        picker && fromAddress.ok && (await page.inputValue('#org')) === 'globex' && (await text(page, '#org-title')) === 'globex',
        `picker ${picker}, org field ${await page.inputValue('#org')}, title ${await text(page, '#org-title')}, shipments ${fromAddress.last}`);
  for (const [org, n] of [['acme', count], ['globex', 3]]) {
    await page.fill('#org', org);
    await page.click('#org-form button[type=submit]');
    const seen = await waitText(page, '[data-testid=shipments]', n);
    const title = await text(page, '#org-title');
    check(`f. the admin enters ${org} and sees its board (${n} shipments)`, seen.ok && title === org,
          `title ${title}, shipments ${seen.last}`);
  }
  const queueGlobex = await waitText(page, '#queue-count', '(empty)');
  check('f. the admin sees globex\'s (empty) exception queue, not acme\'s', queueGlobex.ok &&
        (await page.evaluate(() => document.querySelectorAll('#queue tr').length)) === 0, `shown ${queueGlobex.last}`);
  const adminMs = await timedLiveUpdate(page, '[data-testid=shipments]',
    () => write('POST', '/v1/shipments?org=globex', adminKey, liveShipment('G-LIVE-1', Date.now())), 4);
  check(`f. the admin's board of globex is live (${adminMs == null ? 'not seen' : Math.max(0, adminMs) + ' ms'})`,
        adminMs != null && adminMs <= LIVE_BUDGET_MS, String(adminMs));
  check('f. the admin board shows no error', (await text(page, '#board-error')) === '', await text(page, '#board-error'));

  checkClean(mon);
  await context.close();

  // g. a bad key
  const bad = await openPage('bad key', base);
  await bad.page.goto(base + '/');
  await signIn(bad.page, 'vmv_' + '0'.repeat(48));
  const error = await waitText(bad.page, '#sign-in-error', /\S/);
  check(`g. a bad key shows an error ("${error.last}")`, error.ok && /not valid/.test(error.last), error.last);
  await sleep(300);
  check('g. a bad key shows no board and keeps no key',
        !(await bad.page.isVisible('#board')) && await bad.page.isVisible('#sign-in') &&
        (await bad.page.evaluate(() => sessionStorage.getItem('viya-mv-key'))) == null);
  check('g. a bad key reads nothing but the key check (/v1/whoami)',
        !bad.mon.requests.some((r) => /\/v1\//.test(r) && !/\/v1\/whoami$/.test(r)),
        bad.mon.requests.join(', '));
  checkClean(bad.mon, [{ status: 401, path: '/v1/whoami' }]);
  await bad.context.close();
}

// --screenshot: the demo's realistic load, as its tenant sees it.
async function screenshot() {
  const dataDir = path.join(makeTempDir(), 'demo');
  const keys = (child) => /Tenant key\s*:\s*(vmv_[0-9a-f]+)\s+\(org ([^)\s]+)\)/.exec(child.stdoutText);
  const demo = await startServer('viya-mv demo', 'demo', dataDir, (child) => keys(child) != null);
  base = demo.base;
  try {
    const [, tenantKey, org] = keys(demo.child);
    log(`demo on ${base}, org ${org}`);
    const { context, page, mon } = await openPage('screenshot (demo)', base);
    await page.goto(base + '/');
    await signIn(page, tenantKey);
    const ready = await waitFor(page, () =>
      /^\d+$/.test(document.querySelector('[data-testid=shipments]').textContent) &&
      Number(document.querySelector('[data-testid=shipments]').textContent) > 100 &&
      document.querySelectorAll('#queue tr').length >= 10 &&
      document.querySelectorAll('[data-testid=on-time-chart] svg circle').length >= 3 &&
      document.querySelectorAll('[data-testid=transit-chart] svg circle').length >= 6 &&
      /\d s$/.test(document.querySelector('[data-testid=lag]').textContent), undefined, 20_000);
    check('screenshot: the demo\'s board has tiles, queue, charts and lag', ready, JSON.stringify(await tiles(page)));
    await sleep(3500);  // the charts read again (at most every 3 s) after the latest changes
    await page.screenshot({ path: screenshotPath, fullPage: true, animations: 'disabled', timeout: STEP_TIMEOUT_MS });
    const png = fs.readFileSync(screenshotPath);
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    check(`screenshot: ${screenshotPath} is a ${width}x${height} PNG`,
          png.subarray(1, 4).toString() === 'PNG' && width === WIDTH && height > 900, `${width}x${height}`);
    check('screenshot: every request went to the server; no page error or CSP violation',
          mon.offsite.length === 0 && mon.pageErrors.length === 0 && mon.csp.length === 0,
          JSON.stringify({ offsite: mon.offsite, pageErrors: mon.pageErrors, csp: mon.csp }));
    await context.close();
  } finally {
    await stopProcess(demo.child);
  }
}

async function main() {
  const started = Date.now();
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: START_TIMEOUT_MS,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    });
    log(`Chromium ${browser.version()} (${CHROMIUM}), playwright-core ` +
        createRequire(path.join(toolsDir, 'package.json'))('playwright-core/package.json').version);
    await boardTest();
    if (screenshotPath) await screenshot();
  } catch (e) {
    check('the test ran to its end', false, e instanceof Fatal ? e.message : (e.stack || String(e)));
    for (const child of children) dumpLog(child);
  } finally {
    await cleanup();
    clearTimeout(overall);
  }
  if (aborting) return;  // abort() reports and exits
  log(`board_test: ${(Date.now() - started) / 1000} s`);
  log(`board_test: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

await main();
