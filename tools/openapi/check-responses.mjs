#!/usr/bin/env node
// Checks recorded HTTP exchanges against an OpenAPI 3.1 document.
//
//   node check-responses.mjs <openapi.yaml> <records.jsonl>
//
// Each line of the records file is one exchange, a JSON object:
//   {"method": "GET", "target": "/v1/shipments?limit=2", "status": 200,
//    "headers": {"content-type": "application/json", "x-view-token": "12"},
//    "body": "<the response body as a string>"}
// Header names are compared case-insensitively. `body` is the body as the client saw it
// (decompressed); instead of it a record may carry `bodyBase64`, the bytes as sent, which
// are gunzipped when `content-encoding` is gzip. Blank lines are skipped.
//
// Per exchange: the path template and method (concrete paths win over templated ones, as
// in the server's router), the response for the status (exact, else 4XX/5XX, else
// default), the media type, the JSON body against the schema (Ajv, draft 2020-12, with
// formats), the headers the response marks `required` (and the documented ones present,
// against their schemas), the document's `x-gzip` rules for a gzip-compressed answer,
// the `x-error-code` of an error answer, and the query parameter
// names (and, for 2xx/304, their values) against the operation's parameters. A 405 on a
// documented path is checked against the document's `x-method-not-allowed` response.
//
// Prints one line per failure, the documented operations no exchange exercised (a
// warning), and `N exchanges, M operations covered, K failures`. Exit status: 0 when
// nothing failed, 1 on any failure, 2 on a usage error (arguments, unreadable files, a
// document that is not OpenAPI 3.1 or whose schemas do not compile).

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SPEC_ID = 'urn:viya-mv:openapi';
const MAX_AJV_ERRORS = 8;

export class UsageError extends Error {}

// ---- The document -----------------------------------------------------------------------

function decodePointerToken(t) {
  return t.replace(/~1/g, '/').replace(/~0/g, '~');
}

// The value at a local JSON pointer ("#/components/schemas/X") of `doc`.
function resolvePointer(doc, ref) {
  if (!ref.startsWith('#')) throw new UsageError(`only local $refs are supported: ${ref}`);
  let node = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodePointerToken(decodeURIComponent(raw));
    if (node === null || typeof node !== 'object' || !(key in node)) {
      throw new UsageError(`$ref does not resolve: ${ref}`);
    }
    node = node[key];
  }
  return node;
}

// An OpenAPI object (parameter, response, header, ...) with its $ref chain followed.
function deref(doc, node) {
  const seen = new Set();
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) throw new UsageError(`$ref cycle at ${node.$ref}`);
    seen.add(node.$ref);
    node = resolvePointer(doc, node.$ref);
  }
  return node;
}

// A deep copy of a schema whose local $refs point into the registered document.
function rebase(schema) {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#') ? SPEC_ID + v : rebase(v);
  }
  return out;
}

function mediaTypeOf(contentType) {
  return String(contentType ?? '').split(';')[0].trim().toLowerCase();
}

function isJsonMediaType(mt) {
  return mt === 'application/json' || /^application\/[^/]+\+json$/.test(mt);
}

// Path templates as segments, most concrete first (a literal segment beats a template
// at the first position where they differ), like the server's router.
function compilePaths(doc) {
  const out = [];
  for (const [template, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = deref(doc, rawItem);
    const segments = template.split('/').slice(1).map((s) => {
      const m = /^\{([^{}]+)\}$/.exec(s);
      return m ? { param: m[1] } : { literal: s };
    });
    out.push({ template, item, segments });
  }
  const rank = (p) => p.segments.map((s) => (s.param ? '1' : '0')).join('');
  out.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
  return out;
}

// Loaded documents by path, while the file is unchanged (the self-tests load one often).
const loaded = new Map();

export function loadSpec(file) {
  let stamp = null;
  try {
    const st = statSync(file);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    // reported by the read below
  }
  const hit = loaded.get(file);
  if (hit && stamp !== null && hit.stamp === stamp) return hit.spec;
  const spec = loadSpecUncached(file);
  if (stamp !== null) loaded.set(file, { stamp, spec });
  return spec;
}

function loadSpecUncached(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${e.message}`);
  }
  let doc;
  try {
    doc = YAML.parse(text, { maxAliasCount: -1 });
  } catch (e) {
    throw new UsageError(`${file} is not YAML/JSON: ${e.message}`);
  }
  if (!doc || typeof doc !== 'object' || !/^3\.1\./.test(String(doc.openapi ?? ''))) {
    throw new UsageError(`${file} is not an OpenAPI 3.1 document`);
  }
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    // OpenAPI allows union types with `null` and keywords Ajv does not know.
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    validateFormats: true,
  });
  addFormats(ajv);
  // OpenAPI's own schema keywords (annotations for our purpose).
  for (const keyword of ['discriminator', 'xml', 'externalDocs', 'example']) {
    ajv.addKeyword({ keyword, schemaType: ['object', 'string', 'number', 'boolean', 'array', 'null'] });
  }
  // Register the component schemas as one schema with a fixed $id, at the same place as
  // in the document, so that every `#/components/schemas/X` resolves (as
  // SPEC_ID#/components/schemas/X after rebasing).
  const schemas = doc.components?.schemas ?? {};
  const defs = {};
  for (const [name, s] of Object.entries(schemas)) defs[name] = rebase(s);
  const registered = { $id: SPEC_ID, components: { schemas: defs } };
  ajv.addKeyword({ keyword: 'components', schemaType: 'object' });
  try {
    ajv.addSchema(registered);
  } catch (e) {
    throw new UsageError(`the component schemas do not compile: ${e.message}`);
  }
  const cache = new WeakMap();
  const compile = (schema, where) => {
    if (cache.has(schema)) return cache.get(schema);
    let fn;
    try {
      fn = ajv.compile(rebase(schema));
    } catch (e) {
      throw new UsageError(`the schema at ${where} does not compile: ${e.message}`);
    }
    cache.set(schema, fn);
    return fn;
  };
  const operations = [];
  const paths = compilePaths(doc);
  for (const p of paths) {
    for (const m of METHODS) {
      if (p.item[m]) {
        operations.push({ key: `${m.toUpperCase()} ${p.template}`, operationId: p.item[m].operationId });
      }
    }
  }
  const spec = { doc, ajv, compile, paths, operations };
  // Compile every response schema now: a broken document is a usage error, not N failures.
  for (const p of paths) {
    for (const m of METHODS) {
      const op = p.item[m];
      if (!op) continue;
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        const response = deref(doc, r);
        for (const [mt, media] of Object.entries(response?.content ?? {})) {
          if (media?.schema && isJsonMediaType(mediaTypeOf(mt))) {
            compile(media.schema, `${m.toUpperCase()} ${p.template} ${status} ${mt}`);
          }
        }
      }
    }
  }
  return spec;
}

// ---- One exchange ----------------------------------------------------------------------

function percentDecode(s, plusIsSpace) {
  const t = plusIsSpace ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(t);
  } catch {
    return t;
  }
}

function parseTarget(target) {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const segments = rawPath.split('/').slice(1).map((s) => percentDecode(s, false));
  const query = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    query.push(
      eq < 0
        ? [percentDecode(pair, true), '']
        : [percentDecode(pair.slice(0, eq), true), percentDecode(pair.slice(eq + 1), true)],
    );
  }
  return { segments, query };
}

function matchPath(spec, segments) {
  const found = [];
  for (const p of spec.paths) {
    if (p.segments.length !== segments.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const s = p.segments[i];
      if (s.param) {
        ok = segments[i] !== '';
        params[s.param] = segments[i];
      } else {
        ok = s.literal === segments[i];
      }
    }
    if (ok) found.push({ path: p, params });
  }
  return found; // most concrete first
}

function findResponse(responses, status) {
  if (!responses) return null;
  const code = String(status);
  if (responses[code]) return { key: code, response: responses[code] };
  const range = `${code[0]}XX`;
  if (responses[range]) return { key: range, response: responses[range] };
  if (responses[range.toLowerCase()]) return { key: range, response: responses[range.toLowerCase()] };
  if (responses.default) return { key: 'default', response: responses.default };
  return null;
}

function formatAjvErrors(errors) {
  const list = (errors ?? []).slice(0, MAX_AJV_ERRORS).map((e) => {
    const where = e.instancePath || '/';
    let extra = '';
    if (e.params?.additionalProperty !== undefined) extra = ` '${e.params.additionalProperty}'`;
    else if (e.params?.unevaluatedProperty !== undefined) extra = ` '${e.params.unevaluatedProperty}'`;
    else if (e.params?.allowedValues !== undefined) extra = ` ${JSON.stringify(e.params.allowedValues)}`;
    return `${where} ${e.message}${extra}`;
  });
  const more = (errors?.length ?? 0) - list.length;
  return list.join('; ') + (more > 0 ? `; ... ${more} more` : '');
}

// A header or parameter value (always a string on the wire) against its schema: strings
// as they are; for a non-string schema the value is also tried as a number or boolean.
function validateScalar(spec, schema, value, where) {
  const validate = spec.compile(schema, where);
  const attempts = [value];
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) attempts.push(Number(value));
  if (value === 'true' || value === 'false') attempts.push(value === 'true');
  const errors = [];
  for (const v of attempts) {
    if (validate(v)) return null;
    errors.push(validate.errors ?? []);
  }
  // Report the attempt of the schema's type (the one without a type error), if any.
  const best = errors.find((e) => !e.some((x) => x.keyword === 'type')) ?? errors[0];
  return formatAjvErrors(best);
}

function bodyText(record, headers, problems) {
  if (typeof record.bodyBase64 === 'string') {
    let bytes = Buffer.from(record.bodyBase64, 'base64');
    if (/\bgzip\b/i.test(headers['content-encoding'] ?? '')) {
      try {
        bytes = gunzipSync(bytes);
      } catch (e) {
        problems.push(`body: content-encoding gzip, but the body does not gunzip (${e.message})`);
        return '';
      }
    }
    return bytes.toString('utf8');
  }
  if (record.body === undefined || record.body === null) return '';
  if (typeof record.body !== 'string') {
    problems.push('record: "body" must be a string');
    return '';
  }
  return record.body;
}

function checkHeaders(spec, response, headers, where, problems) {
  for (const [name, h] of Object.entries(response.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-type') continue; // OpenAPI: ignored here; checked as the media type
    const header = deref(spec.doc, h);
    const value = headers[lower];
    if (value === undefined) {
      if (header?.required) problems.push(`header ${name}: required, missing`);
      continue;
    }
    if (header?.schema) {
      const err = validateScalar(spec, header.schema, String(value), `${where} header ${name}`);
      if (err) problems.push(`header ${name}: '${String(value).slice(0, 80)}': ${err}`);
    }
  }
}

// The document's `x-gzip` rules for a gzip-compressed answer: a weak entity tag, and the
// `Vary` it names.
function checkGzip(spec, headers, problems) {
  const rules = spec.doc['x-gzip'];
  if (!rules || !/\bgzip\b/i.test(headers['content-encoding'] ?? '')) return;
  if (rules.etag === 'weak' && headers.etag !== undefined && !headers.etag.startsWith('W/')) {
    problems.push(`header ETag: '${headers.etag}' is strong, but the answer is gzip-compressed (weak expected)`);
  }
  if (rules.vary) {
    const vary = (headers.vary ?? '').split(',').map((v) => v.trim().toLowerCase());
    if (!vary.includes(String(rules.vary).toLowerCase()) && !vary.includes('*')) {
      problems.push(`header Vary: '${headers.vary ?? ''}', but a gzip-compressed answer needs Vary: ${rules.vary}`);
    }
  }
}

function checkBody(spec, response, status, headers, text, where, problems) {
  const content = response.content ?? {};
  const mediaTypes = Object.keys(content);
  if (text === '') {
    if (mediaTypes.length > 0 && status !== 304 && status !== 204) {
      problems.push(`body: empty, but the response documents ${mediaTypes.join(', ')}`);
    }
    return;
  }
  if (mediaTypes.length === 0) {
    problems.push('body: the response documents no body, but there is one');
    return;
  }
  const mt = mediaTypeOf(headers['content-type']);
  if (mt === '') {
    problems.push(`content-type: missing (documented: ${mediaTypes.join(', ')})`);
    return;
  }
  const key = mediaTypes.find((k) => mediaTypeOf(k) === mt)
    ?? mediaTypes.find((k) => {
      const [type, sub] = mediaTypeOf(k).split('/');
      return (sub === '*' && mt.startsWith(`${type}/`)) || type === '*';
    });
  if (key === undefined) {
    problems.push(`content-type: '${headers['content-type']}' is not documented (documented: ${mediaTypes.join(', ')})`);
    return;
  }
  if (!isJsonMediaType(mt)) return;
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    problems.push(`body: not JSON (${e.message})`);
    return;
  }
  const schema = content[key]?.schema;
  if (schema) {
    const validate = spec.compile(schema, `${where} ${key}`);
    if (!validate(body)) {
      problems.push(`body does not match the schema: ${formatAjvErrors(validate.errors)}`);
    }
  }
  const code = response['x-error-code'];
  if (code !== undefined && body && typeof body === 'object' && body.error && typeof body.error === 'object') {
    if (body.error.code !== code) {
      problems.push(`error.code: '${body.error.code}', but a ${status} answer has '${code}'`);
    }
  }
}

function checkQuery(spec, params, query, status, where, problems) {
  const byName = new Map();
  for (const p of params) {
    if (p.in === 'query') byName.set(p.name, p);
  }
  const success = (status >= 200 && status < 300) || status === 304;
  for (const [name, value] of query) {
    const p = byName.get(name);
    if (!p) {
      // An undocumented parameter is only an error when the server took it.
      if (success) problems.push(`query parameter '${name}': not documented for this operation`);
      continue;
    }
    if (success && p.schema) {
      const err = validateScalar(spec, p.schema, value, `${where} query ${name}`);
      if (err) problems.push(`query parameter ${name}='${value.slice(0, 80)}' was accepted but does not match its schema: ${err}`);
    }
  }
}

function lowerHeaders(h, problems) {
  const out = {};
  if (h === undefined || h === null) return out;
  if (typeof h !== 'object' || Array.isArray(h)) {
    problems.push('record: "headers" must be an object');
    return out;
  }
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

// Checks one exchange; returns { problems: [...], operation: "GET /v1/..." or null }.
export function checkExchange(spec, record) {
  const problems = [];
  if (!record || typeof record !== 'object' || Array.isArray(record)) {
    return { problems: ['record: not a JSON object'], operation: null };
  }
  const { method, target, status } = record;
  if (typeof method !== 'string' || typeof target !== 'string' || !Number.isInteger(status)) {
    return { problems: ['record: needs "method" (string), "target" (string) and "status" (integer)'], operation: null };
  }
  if (!target.startsWith('/')) return { problems: ['target: must start with /'], operation: null };
  const headers = lowerHeaders(record.headers, problems);
  const text = bodyText(record, headers, problems);
  const { segments, query } = parseTarget(target);
  const matches = matchPath(spec, segments);
  if (matches.length === 0) {
    // A path the API does not have: the answer must be a 404 with the error body.
    if (status !== 404) {
      problems.push(`no path of the document matches (answered ${status}, not 404)`);
    } else {
      let body = null;
      try {
        body = JSON.parse(text ?? '');
      } catch {
        problems.push('the 404 of an unknown path is not JSON');
      }
      if (body !== null) {
        const validate = spec.compile({ $ref: '#/components/schemas/Error' }, 'unknown path 404');
        if (!validate(body)) {
          problems.push(`the 404 of an unknown path: ${formatAjvErrors(validate.errors)}`);
        } else if (body.error.code !== 'not_found') {
          problems.push(`the 404 of an unknown path has code ${body.error.code}, not not_found`);
        }
      }
    }
    return { problems, operation: null };
  }
  const m = method.toLowerCase();
  const hit = matches.find((x) => x.path.item[m]);
  if (!hit) {
    const allowed = [...new Set(matches.flatMap((x) => METHODS.filter((k) => x.path.item[k])))];
    const where = `${method} ${matches[0].path.template}`;
    const notAllowed = spec.doc['x-method-not-allowed'];
    if (status === 405 && notAllowed) {
      const response = deref(spec.doc, notAllowed);
      checkHeaders(spec, response, headers, where, problems);
      checkGzip(spec, headers, problems);
      checkBody(spec, response, status, headers, text, where, problems);
      const allow = headers.allow;
      if (allow !== undefined) {
        const got = allow.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
        const want = [...allowed].sort();
        if (got.join(',') !== want.join(',')) {
          problems.push(`header Allow: '${allow}', but the document has ${want.map((s) => s.toUpperCase()).join(', ')} on ${matches[0].path.template}`);
        }
      }
      return { problems, operation: null };
    }
    problems.push(`no operation ${method.toUpperCase()} on ${matches.map((x) => x.path.template).join(', ')} (documented: ${allowed.map((s) => s.toUpperCase()).join(', ')})`);
    return { problems, operation: null };
  }
  const item = hit.path.item;
  const op = item[m];
  const operation = `${method.toUpperCase()} ${hit.path.template}`;
  const params = [];
  const seen = new Set();
  for (const raw of [...(op.parameters ?? []), ...(item.parameters ?? [])]) {
    const p = deref(spec.doc, raw);
    const key = `${p.in}:${p.name}`;
    if (!seen.has(key)) params.push(p); // operation-level parameters override path-level ones
    seen.add(key);
  }
  const success = (status >= 200 && status < 300) || status === 304;
  if (success) {
    for (const p of params.filter((x) => x.in === 'path')) {
      const value = hit.params[p.name];
      if (value === undefined) {
        problems.push(`path parameter ${p.name}: not in the template`);
      } else if (p.schema) {
        const err = validateScalar(spec, p.schema, value, `${operation} path ${p.name}`);
        if (err) problems.push(`path parameter ${p.name}='${value.slice(0, 80)}' was accepted but does not match its schema: ${err}`);
      }
    }
  }
  checkQuery(spec, params, query, status, operation, problems);
  const found = findResponse(op.responses, status);
  if (!found) {
    problems.push(`status ${status} is not documented for ${operation} (documented: ${Object.keys(op.responses ?? {}).join(', ')})`);
    return { problems, operation };
  }
  const response = deref(spec.doc, found.response);
  const where = `${operation} ${found.key}`;
  checkHeaders(spec, response, headers, where, problems);
  checkGzip(spec, headers, problems);
  checkBody(spec, response, status, headers, text, where, problems);
  return { problems, operation };
}

// ---- A records file --------------------------------------------------------------------

export function checkRecordsText(spec, text) {
  const failures = [];
  const covered = new Set();
  let exchanges = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    exchanges++;
    let record;
    try {
      record = JSON.parse(line);
    } catch (e) {
      failures.push(`FAIL line ${i + 1}: not JSON (${e.message})`);
      continue;
    }
    const { problems, operation } = checkExchange(spec, record);
    if (operation) covered.add(operation);
    const label = `${String(record?.method ?? '?').toUpperCase()} ${String(record?.target ?? '?').slice(0, 300)} ${record?.status ?? '?'}`;
    for (const p of problems) failures.push(`FAIL line ${i + 1}: ${label}: ${p}`);
  }
  if (exchanges === 0) failures.push('FAIL the records file has no exchanges');
  const uncovered = spec.operations.filter((o) => !covered.has(o.key));
  const failureCount = failures.length;
  return { exchanges, covered: covered.size, failures, failureCount, uncovered };
}

// The command line: returns the exit status; output goes to `out` and `err`.
export function run(argv, out = process.stdout, err = process.stderr) {
  if (argv.length !== 2 || argv.includes('-h') || argv.includes('--help')) {
    err.write('usage: check-responses.mjs <openapi.yaml> <records.jsonl>\n');
    return 2;
  }
  const [specFile, recordsFile] = argv;
  let spec;
  let text;
  try {
    spec = loadSpec(specFile);
    try {
      text = readFileSync(recordsFile, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${recordsFile}: ${e.message}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`check-responses: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const result = checkRecordsText(spec, text);
  for (const f of result.failures) out.write(`${f}\n`);
  for (const o of result.uncovered) {
    out.write(`WARN not exercised: ${o.key}${o.operationId ? ` (${o.operationId})` : ''}\n`);
  }
  out.write(`${result.exchanges} exchanges, ${result.covered} operations covered, ${result.failureCount} failures\n`);
  return result.failureCount > 0 ? 1 : 0;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1]);
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = run(process.argv.slice(2));
}
