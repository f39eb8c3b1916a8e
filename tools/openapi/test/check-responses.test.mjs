// Self-tests of check-responses.mjs: it accepts correct exchanges and fails broken ones.
// Run with `node --test test/` in tools/openapi.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { run as runChecker } from '../check-responses.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const checker = join(here, '..', 'check-responses.mjs');
const spec = join(here, '..', '..', '..', 'docs', 'openapi.yaml');
const dir = mkdtempSync(join(tmpdir(), 'check-responses-test-'));
let files = 0;

function writeRecords(records) {
  const file = join(dir, `records-${++files}.jsonl`);
  const text = typeof records === 'string' ? records : records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  writeFileSync(file, text);
  return file;
}

function collector() {
  const c = { text: '', write: (s) => { c.text += s; } };
  return c;
}

// The checker's command line, in this process (the document is loaded once).
function run(records, specFile = spec) {
  const out = collector();
  const err = collector();
  const code = runChecker([specFile, writeRecords(records)], out, err);
  const failures = out.text.split('\n').filter((l) => l.startsWith('FAIL'));
  return { code, stdout: out.text, stderr: err.text, failures };
}

// The checker as a program, for its exit status and output.
function spawnChecker(args) {
  return spawnSync(process.execPath, [checker, ...args], { encoding: 'utf8' });
}

// ---- Exchanges as the server answers them ----------------------------------------------

const JSON_HEADERS = { 'content-type': 'application/json' };
const READ_HEADERS = {
  ...JSON_HEADERS,
  'x-view-token': '40767',
  etag: '"3bc80e107e87775b"',
  'cache-control': 'no-cache',
};

function shipmentItem(overrides = {}) {
  return {
    _schemaVersion: 2,
    carrierId: 'dhl',
    carrierName: 'DHL Express',
    createdAt: '2026-11-01T10:00:00Z',
    customerId: 'C-9',
    customerName: null,
    destination: {},
    id: 'S-1001',
    lastEvent: { code: 'ZZ', location: '', occurredAt: '2026-11-01T15:05:00Z' },
    origin: { country: 'NL', postalCode: '1012' },
    pickedUpAt: '2026-11-01T14:05:00Z',
    promisedDeliveryAt: '2026-11-03T17:00:00Z',
    reference: 'PO-77',
    service: 'express',
    serviceLevel: { name: 'Express', transitDays: 1 },
    sla: { nextChangeAt: null, status: 'breached' },
    status: 'picked_up',
    statusChangedAt: '2026-12-02T01:03:13.312Z',
    weightKg: 2.5,
    ...overrides,
  };
}

function read(target, body, { status = 200, headers = {} } = {}) {
  return { method: 'GET', target, status, headers: { ...READ_HEADERS, ...headers }, body: JSON.stringify(body) };
}

function error(method, target, status, code, headers = {}) {
  return {
    method,
    target,
    status,
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ error: { code, message: 'what was wrong' } }),
  };
}

const good = {
  list: read('/v1/shipments?status=booked&limit=2&cursor=MXwxNzk2MTcy', {
    items: [shipmentItem({ status: 'booked' })],
    nextCursor: 'MXwxNzk2MTczMzkyNTgxfFMtMTA0OTcx',
  }),
  one: read('/v1/shipments/S-1001?minToken=12', shipmentItem()),
  notModified: {
    method: 'GET',
    target: '/v1/shipments/S-1001',
    status: 304,
    headers: { 'x-view-token': '40767', etag: 'W/"3bc80e107e87775b"', 'cache-control': 'no-cache' },
    body: '',
  },
  exceptions: read('/v1/exceptions?reason=breached', {
    items: [shipmentItem({ reason: 'breached', urgency: 1 })],
    nextCursor: null,
  }),
  weekly: read('/v1/metrics/daily?interval=week&from=2026-11-04&to=2026-11-12&groupBy=week,carrierId', {
    from: '2026-11-02',
    to: '2026-11-15',
    interval: 'week',
    rows: [
      { week: '2026-W45', carrierId: 'dhl', shipments: 47, weightKg: 515.9, declaredValue: 15672.66 },
      { week: '2026-W46', carrierId: '', shipments: 3, weightKg: 0, declaredValue: 0 },
    ],
  }),
  totals: read('/v1/metrics/daily?groupBy=', {
    from: '2026-11-03',
    to: '2026-12-02',
    interval: 'day',
    rows: [{ shipments: 4973, weightKg: 49146.7, declaredValue: 1715875.15 }],
  }),
  carriers: read('/v1/carriers/performance?from=2026-W40', {
    from: '2026-W40',
    to: '2026-W49',
    rows: [
      {
        carrierId: 'dhl',
        carrierName: 'DHL Express',
        week: '2026-W48',
        shipped: 186,
        delivered: 131,
        deliveredOnTime: 117,
        onTimeRate: 0.8931297709923665,
        transitHours: { p50: 58.0, p95: 101.8 },
      },
      {
        carrierId: 'dpd',
        carrierName: null,
        week: '2026-W49',
        shipped: 4,
        delivered: 0,
        deliveredOnTime: 0,
        onTimeRate: null,
        transitHours: { p50: null, p95: null },
      },
    ],
  }),
  // A concrete path wins over /v1/customers/{id} (which takes only PUT).
  customers: read('/v1/customers/summary?sort=-lastShipmentAt&limit=2', {
    items: [
      {
        customerId: 'C-1072',
        customerName: 'Soylent NV',
        shipments: 12,
        open: 3,
        delivered: 9,
        exceptions: 0,
        declaredValue: 6685.36,
        lastShipmentAt: '2026-12-02T00:55:45.100Z',
        _schemaVersion: 2,
      },
    ],
    nextCursor: null,
  }),
  write: {
    method: 'POST',
    target: '/v1/tracking-events?org=acme-retail',
    status: 200,
    headers: { ...JSON_HEADERS, 'x-change-token': '40754' },
    body: '{"accepted":1,"count":2,"duplicates":1,"token":"40754"}',
  },
  unauthenticated: error('GET', '/v1/ops/realtime', 401, 'unauthenticated', { 'www-authenticate': 'Bearer' }),
  // An unknown parameter is what a 400 is for: not a failure of the contract.
  unknownParameter: error('GET', '/v1/shipments?stauts=booked', 400, 'invalid_argument'),
  wrongMethod: error('POST', '/v1/shipments/S-1', 405, 'method_not_allowed', { allow: 'DELETE, GET' }),
  notReady: {
    method: 'GET',
    target: '/readyz',
    status: 503,
    headers: JSON_HEADERS,
    body: '{"status":"not_ready","streamConnected":false,"lagEvents":0,"reasons":["change stream not connected"]}',
  },
  busy: error('GET', '/readyz', 503, 'unavailable'),
  // A gzip-compressed answer as sent (bytes, base64), with a weak entity tag and Vary.
  compressed: {
    method: 'GET',
    target: '/v1/ops/realtime',
    status: 200,
    headers: { ...READ_HEADERS, etag: 'W/"97e9a84d2dbde77e"', 'content-encoding': 'gzip', vary: 'Accept-Encoding' },
    bodyBase64: gzipSync(
      JSON.stringify({
        _schemaVersion: 1,
        atRisk: 126,
        breached: 31,
        byStatus: {
          booked: 218, cancelled: 13, delivered: 525, exception: 54,
          in_transit: 240, out_for_delivery: 67, picked_up: 83, returned: 21,
        },
        exceptions: 54,
        open: 662,
        org: 'acme-retail',
        shipments: 1221,
      }),
    ).toString('base64'),
  },
  metrics: {
    method: 'GET',
    target: '/metrics',
    status: 200,
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body: '# TYPE viya_mv_events_applied_total counter\nviya_mv_events_applied_total 12\n',
  },
};

// ---- Tests -----------------------------------------------------------------------------

test('correct exchanges pass, and the summary counts them', () => {
  const records = Object.values(good);
  const r = run(records);
  assert.equal(r.failures.length, 0, r.stdout);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const summary = r.stdout.trim().split('\n').at(-1);
  assert.match(summary, new RegExp(`^${records.length} exchanges, \\d+ operations covered, 0 failures$`));
  const covered = Number(/, (\d+) operations covered/.exec(summary)[1]);
  // The 405 covers no operation; the others cover these ten.
  assert.equal(covered, 10, r.stdout);
  for (const op of ['GET /v1/shipments ', 'GET /v1/shipments/{id}', 'GET /v1/exceptions', 'GET /v1/metrics/daily',
    'GET /v1/carriers/performance', 'GET /v1/customers/summary', 'POST /v1/tracking-events',
    'GET /v1/ops/realtime ', 'GET /readyz', 'GET /metrics']) {
    assert.ok(!r.stdout.includes(`WARN not exercised: ${op}`), `${op} should be covered:\n${r.stdout}`);
  }
  // Operations no exchange exercised are warnings, not failures.
  assert.match(r.stdout, /^WARN not exercised: PUT \/v1\/carriers\/\{id\} \(putCarrier\)$/m);
  assert.doesNotMatch(r.stdout, /WARN not exercised: GET \/v1\/customers\/summary/);
});

test('a missing required field fails', () => {
  const item = shipmentItem();
  delete item.sla;
  const r = run([good.list, read('/v1/shipments/S-1001', item)]);
  assert.equal(r.code, 1);
  assert.equal(r.failures.length, 1, r.stdout);
  assert.match(r.failures[0], /^FAIL line 2: GET \/v1\/shipments\/S-1001 200: body does not match the schema: .*required property 'sla'/);
  assert.match(r.stdout, /^2 exchanges, 2 operations covered, 1 failures$/m);
});

test('a field of the wrong type fails', () => {
  const r = run([{ ...good.write, body: '{"accepted":1,"count":"2","duplicates":1,"token":"40754"}' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures.join('\n'), /POST \/v1\/tracking-events\?org=acme-retail 200: body does not match the schema: \/count must be integer/);
});

test('a token answered as a number fails', () => {
  const r = run([{ ...good.write, body: '{"accepted":1,"count":2,"duplicates":1,"token":40754}' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures.join('\n'), /\/token must be string/);
});

test('a field the answer does not have fails (fixed field sets)', () => {
  const r = run([
    read('/v1/shipments/S-1001', shipmentItem({ org: 'acme-retail' })),
    read('/v1/carriers/performance', { from: '2026-W40', to: '2026-W49', rows: [], total: 0 }),
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.failures.length, 2, r.stdout);
  assert.match(r.failures[0], /must NOT have unevaluated properties 'org'/);
  assert.match(r.failures[1], /must NOT have additional properties 'total'/);
});

test('an unknown route must be answered 404 with the error body', () => {
  const ok = run([error('GET', '/v2/shipments', 404, 'not_found')]);
  assert.equal(ok.code, 0, ok.stdout);
  const r = run([
    error('GET', '/v2/shipments', 200, 'not_found'),
    error('GET', '/v2/orders', 404, 'invalid_argument'),
  ]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /^FAIL line 1: GET \/v2\/shipments 200: no path of the document matches \(answered 200, not 404\)$/);
  assert.match(r.failures[1], /has code invalid_argument, not not_found/);
  assert.match(r.stdout, /^2 exchanges, 0 operations covered, 2 failures$/m);
});

test('a method the path does not document fails unless it is the 405 answer', () => {
  const r = run([{ ...good.write, method: 'PATCH', target: '/v1/tracking-events' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /no operation PATCH on \/v1\/tracking-events \(documented: POST\)/);
});

test('a 405 whose Allow does not list the documented methods fails', () => {
  const r = run([{ ...good.wrongMethod, headers: { ...good.wrongMethod.headers, allow: 'GET' } }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /header Allow: 'GET', but the document has DELETE, GET on \/v1\/shipments\/\{id\}/);
});

test('an undocumented status fails', () => {
  const r = run([
    { ...good.one, status: 201 },
    error('POST', '/v1/shipments', 504, 'deadline_exceeded'),
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.failures.length, 2, r.stdout);
  assert.match(r.failures[0], /GET \/v1\/shipments\/S-1001\?minToken=12 201: status 201 is not documented for GET \/v1\/shipments\/\{id\}/);
  assert.match(r.failures[1], /status 504 is not documented for POST \/v1\/shipments/);
});

test('a missing required header fails', () => {
  const headers = { ...READ_HEADERS };
  delete headers['x-view-token'];
  const noAuthenticate = error('GET', '/v1/ops/realtime', 401, 'unauthenticated');
  const r = run([{ ...good.one, headers }, noAuthenticate]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /header X-View-Token: required, missing/);
  assert.match(r.failures[1], /header WWW-Authenticate: required, missing/);
});

test('a header value that does not match its schema fails', () => {
  const r = run([{ ...good.one, headers: { ...READ_HEADERS, 'x-view-token': '-3', etag: 'abc' } }]);
  assert.equal(r.code, 1);
  assert.equal(r.failures.length, 2, r.stdout);
  assert.match(r.failures.join('\n'), /header X-View-Token: '-3'/);
  assert.match(r.failures.join('\n'), /header ETag: 'abc'/);
});

test('an undocumented query parameter fails in a successful exchange', () => {
  const r = run([{ ...good.list, target: '/v1/shipments?stauts=booked' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /query parameter 'stauts': not documented for this operation/);
});

test('a query parameter value the schema rejects fails when the server accepted it', () => {
  const r = run([{ ...good.list, target: '/v1/shipments?limit=501' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /query parameter limit='501' was accepted but does not match its schema: \/ must be <= 500/);
});

test('an error code that does not go with the status fails', () => {
  const r = run([error('GET', '/v1/shipments/S-9', 404, 'invalid_argument')]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /error\.code: 'invalid_argument', but a 404 answer has 'not_found'/);
});

test('an error body of another shape fails', () => {
  const r = run([{ ...error('GET', '/v1/shipments', 400, 'x'), body: '{"message":"bad"}' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /must have required property 'error'/);
});

test('a daily-metrics row whose period field does not fit the interval fails', () => {
  const body = JSON.parse(good.weekly.body);
  body.rows[0] = { day: '2026-11-02', shipments: 1, weightKg: 1, declaredValue: 1 };
  const r = run([{ ...good.weekly, body: JSON.stringify(body) }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /\/rows\/0\/day boolean schema is false/);
});

test('a gzip-compressed answer needs a weak ETag and Vary: Accept-Encoding', () => {
  const headers = { ...good.compressed.headers, etag: '"97e9a84d2dbde77e"' };
  delete headers.vary;
  const r = run([{ ...good.compressed, headers }]);
  assert.equal(r.code, 1);
  assert.equal(r.failures.length, 2, r.stdout);
  assert.match(r.failures[0], /header ETag: '"97e9a84d2dbde77e"' is strong, but the answer is gzip-compressed/);
  assert.match(r.failures[1], /Vary: Accept-Encoding/);
});

test('a body where none is documented, or none where one is, fails', () => {
  const r = run([{ ...good.notModified, body: '{}' }, { ...good.one, body: '' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /body: the response documents no body, but there is one/);
  assert.match(r.failures[1], /body: empty, but the response documents application\/json/);
});

test('an undocumented media type fails', () => {
  const r = run([{ ...good.metrics, headers: { 'content-type': 'application/json' }, body: '{}' }]);
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /content-type: 'application\/json' is not documented \(documented: text\/plain; version=0\.0\.4\)/);
});

test('a malformed record fails, and so does a file without exchanges', () => {
  const r = run('{"method": "GET", "target": "/healthz"\n{"method": "GET"}\n');
  assert.equal(r.code, 1);
  assert.match(r.failures[0], /^FAIL line 1: not JSON/);
  assert.match(r.failures[1], /^FAIL line 2: .*needs "method"/);
  const empty = run('\n\n');
  assert.equal(empty.code, 1);
  assert.match(empty.stdout, /FAIL the records file has no exchanges/);
});

test('as a program: exit 0 when all pass, 1 on a failure', () => {
  const ok = spawnChecker([spec, writeRecords([good.list, good.one])]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^2 exchanges, 2 operations covered, 0 failures$/m);
  const item = shipmentItem();
  delete item.id;
  const bad = spawnChecker([spec, writeRecords([good.list, read('/v1/shipments/S-1001', item)])]);
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /^FAIL line 2: GET \/v1\/shipments\/S-1001 200: body does not match the schema: .*required property 'id'/m);
  assert.match(bad.stdout, /^2 exchanges, 2 operations covered, 1 failures$/m);
});

test('usage errors exit 2', () => {
  const none = spawnChecker([]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /usage: check-responses\.mjs <openapi\.yaml> <records\.jsonl>/);
  const missing = spawnChecker([spec, join(dir, 'no-such-file.jsonl')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read/);
  const notOpenApi = join(dir, 'not-openapi.yaml');
  writeFileSync(notOpenApi, 'swagger: "2.0"\n');
  assert.equal(run([good.one], notOpenApi).code, 2);
});
