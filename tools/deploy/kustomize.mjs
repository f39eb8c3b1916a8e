// A minimal kustomize: renders a kustomization directory into its list of objects, for the
// manifests' checks on machines without kubectl (Debian ships neither kustomize nor
// kubectl). It does only what deploy/k8s uses, the way kustomize 5 does it, and refuses
// anything else, so that a manifest that starts using another feature fails the check
// until the feature is added here (and compared with `kubectl kustomize` again):
//
//   resources         files (YAML, any number of documents) and directories (bases)
//   namespace         metadata.namespace of namespaced objects; a Namespace is renamed
//   labels            `pairs` on metadata.labels only (no includeSelectors/Templates)
//   configMapGenerator  `files` (path or key=path), behavior create or replace; the name
//                     gets kustomize's content hash, and references from pod specs follow
//   images            name -> newName / newTag / digest, on containers and initContainers
//
//   import { render } from './kustomize.mjs';
//   const objects = render('deploy/k8s/overlays/mongodb');
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'configMapGenerator',
  'images',
]);
const GENERATOR_FIELDS = new Set(['name', 'files', 'behavior']);
// Kinds without a namespace that may appear; any other kind is taken as namespaced.
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);
// Pod-spec paths, per workload kind, that the images and name-reference steps walk.
const POD_SPEC_PATHS = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Pod: ['spec'],
};

export class KustomizeError extends Error {}

// Objects produced by a configMapGenerator, which get the hash suffix at the end.
const generated = new WeakSet();

// Renders the kustomization in `dir`: the list of objects `kubectl kustomize dir` prints
// (in another order; compare them as a set).
export function render(dir) {
  const objects = build(resolve(dir), []);
  nameGenerated(objects);
  return objects;
}

function build(dir, stack) {
  if (stack.includes(dir)) {
    throw new KustomizeError(`cycle of kustomizations: ${[...stack, dir].join(' -> ')}`);
  }
  const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  const k = parseOne(file);
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) {
      throw new KustomizeError(
        `${file}: '${field}' is not supported by tools/deploy/kustomize.mjs (add it there, ` +
          'and compare with kubectl kustomize)',
      );
    }
  }

  const objects = [];
  for (const entry of k.resources ?? []) {
    const path = join(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) {
      objects.push(...build(path, [...stack, dir]));
    } else {
      objects.push(...parseAll(path));
    }
  }
  for (const g of k.configMapGenerator ?? []) generate(file, dir, g, objects);
  if (k.namespace !== undefined) setNamespace(objects, k.namespace);
  for (const l of k.labels ?? []) addLabels(file, objects, l);
  for (const image of k.images ?? []) setImage(objects, image);
  return objects;
}

function parseAll(path, { resource = true } = {}) {
  const objects = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (doc.errors.length) throw new KustomizeError(`${path}: ${doc.errors[0].message}`);
    const o = doc.toJS();
    if (o === null || o === undefined) continue;
    if (typeof o !== 'object' || Array.isArray(o))
      throw new KustomizeError(`${path}: a document that is not a map`);
    if (resource && (!o.kind || !o.apiVersion || !o.metadata?.name)) {
      throw new KustomizeError(`${path}: a document without apiVersion, kind or metadata.name`);
    }
    objects.push(o);
  }
  return objects;
}

function parseOne(path) {
  const docs = parseAll(path, { resource: false });
  if (docs.length !== 1) throw new KustomizeError(`${path}: expected one document`);
  return docs[0];
}

function generate(file, dir, g, objects) {
  for (const field of Object.keys(g)) {
    if (!GENERATOR_FIELDS.has(field)) {
      throw new KustomizeError(`${file}: configMapGenerator '${field}' is not supported`);
    }
  }
  const data = {};
  for (const spec of g.files ?? []) {
    const eq = spec.indexOf('=');
    const key = eq >= 0 ? spec.slice(0, eq) : basename(spec);
    const path = join(dir, eq >= 0 ? spec.slice(eq + 1) : spec);
    if (!existsSync(path))
      throw new KustomizeError(`${file}: generator file ${spec} does not exist`);
    if (key in data) throw new KustomizeError(`${file}: generator key ${key} given twice`);
    data[key] = readFileSync(path, 'utf8');
  }
  const behavior = g.behavior ?? 'create';
  const existing = objects.find((o) => generated.has(o) && o.metadata.name === g.name);
  if (behavior === 'create') {
    if (existing) throw new KustomizeError(`${file}: ConfigMap ${g.name} is generated twice`);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data };
    generated.add(cm);
    objects.push(cm);
  } else if (behavior === 'replace') {
    if (!existing) throw new KustomizeError(`${file}: no ConfigMap ${g.name} to replace`);
    existing.data = data;
  } else {
    throw new KustomizeError(`${file}: configMapGenerator behavior '${behavior}' is not supported`);
  }
}

function setNamespace(objects, namespace) {
  for (const o of objects) {
    if (o.kind === 'Namespace') o.metadata.name = namespace;
    else if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = namespace;
  }
}

function addLabels(file, objects, l) {
  for (const field of Object.keys(l)) {
    if (field !== 'pairs') {
      throw new KustomizeError(
        `${file}: labels '${field}' is not supported (metadata labels only)`,
      );
    }
  }
  for (const o of objects) {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), ...l.pairs };
  }
}

function podSpec(o) {
  const path = POD_SPEC_PATHS[o.kind];
  if (!path) return undefined;
  return path.reduce((v, k) => v?.[k], o);
}

// Splits an image reference into name, tag and digest (the name may carry a registry port).
function parseImage(ref) {
  let name = ref;
  let digest;
  let tag;
  const at = name.indexOf('@');
  if (at >= 0) [name, digest] = [name.slice(0, at), name.slice(at + 1)];
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) [name, tag] = [name.slice(0, colon), name.slice(colon + 1)];
  return { name, tag, digest };
}

function setImage(objects, image) {
  for (const o of objects) {
    const spec = podSpec(o);
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      if (typeof c.image !== 'string') continue;
      const ref = parseImage(c.image);
      if (ref.name !== image.name) continue;
      const name = image.newName ?? ref.name;
      if (image.digest) c.image = `${name}@${image.digest}`;
      else if (image.newTag) c.image = `${name}:${image.newTag}`;
      else c.image = name + (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
    }
  }
}

// Go's encoding/json, which kustomize hashes: keys sorted, and <, >, &, U+2028, U+2029
// escaped. Other control characters would be escaped differently by Go: refused.
function goJson(v) {
  if (typeof v === 'string') {
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v)) {
      throw new KustomizeError('a generated value holds a control character');
    }
    return JSON.stringify(v).replace(
      /[<>&\u2028\u2029]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${goJson(k)}:${goJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

// kustomize's ConfigMap hash (api/hasher): sha256 of {"data","kind","name"} as Go encodes
// it, its first 10 hex digits with 0 1 3 a e spelled g h k m t. kustomize 5 hashes the
// generated object before it has a name, hence the empty name.
export function configMapHash(data) {
  const hex = createHash('sha256')
    .update(goJson({ data, kind: 'ConfigMap', name: '' }))
    .digest('hex')
    .slice(0, 10);
  return hex.replace(/[013ae]/g, (c) => ({ 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' })[c]);
}

function nameGenerated(objects) {
  for (const cm of objects.filter((o) => generated.has(o))) {
    const from = cm.metadata.name;
    const to = `${from}-${configMapHash(cm.data)}`;
    cm.metadata.name = to;
    for (const o of objects) {
      if ((o.metadata.namespace ?? '') !== (cm.metadata.namespace ?? '')) continue;
      const spec = podSpec(o);
      if (!spec) continue;
      for (const v of spec.volumes ?? []) {
        if (v.configMap?.name === from) v.configMap.name = to;
        for (const s of v.projected?.sources ?? []) {
          if (s.configMap?.name === from) s.configMap.name = to;
        }
      }
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.configMapKeyRef?.name === from) e.valueFrom.configMapKeyRef.name = to;
        }
        for (const e of c.envFrom ?? []) {
          if (e.configMapRef?.name === from) e.configMapRef.name = to;
        }
      }
    }
  }
}

// True for a ConfigMap this renderer generated (named with the hash suffix).
export function isGenerated(o) {
  return generated.has(o);
}
